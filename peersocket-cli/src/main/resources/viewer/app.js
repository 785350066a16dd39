// Peersocket testbed viewer: polls /api/graph and /api/spans about once a second and draws the nodes and
// their connections, a list of recent traces and the selected trace as a sequence diagram.
// Vanilla JS + SVG, no build step, no external resources.
//
// URL parameters (query or hash): trace=<id> selects a trace; select=<message name> selects the most recent
// complete trace carrying that message until the user picks one; peer=, protocol=, msg= set the filters.
//
// DOM hooks (stable, used by the browser test): body[data-ready="1"] once the graph and the first spans are
// drawn; body data-nodes, data-edges, data-spans, data-traces, data-selected-trace, data-render-ms (last
// update), data-max-render-ms, data-first-render-ms; graph nodes g[data-node=<peer id>], edges
// line[data-edge="<a>|<b>"]; trace rows tr[data-trace]; diagram arrows g.msg[data-msg=<name>][data-from][data-to];
// body data-errors (uncaught errors, absent if none), data-poll-error (last failed poll).
'use strict';

(function () {
  const MAX_SPANS = 20000;      // spans kept in the page (oldest traces dropped first)
  const MAX_ROWS = 200;         // trace rows rendered
  const MAX_TRACE_SPANS = 400;  // spans drawn in one sequence diagram
  const PAGE = 10000;           // spans per /api/spans request
  const POLL_MS = 1000;
  const BUSY_NS = 3e9;          // an edge is "busy" if it carried a message in the last 3 s

  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const params = readParams();

  const state = {
    nodes: [], nodeIndex: new Map(), graphKey: '', edgeEls: new Map(), nodeEls: new Map(),
    traces: new Map(), totalSpans: 0, cursor: 0, edgeActivity: new Map(),
    peersSeen: new Set(), protocols: new Set(), names: new Set(), optionsKey: '',
    selected: params.trace || '', userSelected: !!params.trace, autoSelect: params.select || '',
    selectedVersion: -1, listDirty: true, spansFetched: false, graphOk: false, maxRenderMs: 0,
    filter: { peer: params.peer || '', protocol: params.protocol || '', msg: params.msg || '', trace: '' },
  };

  function readParams() {
    const out = {};
    const add = (s) => new URLSearchParams(s).forEach((v, k) => { out[k] = v; });
    add(location.search.slice(1));
    add(location.hash.slice(1));
    return out;
  }

  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const shortId = (id) => (id && id.length > 14 ? id.slice(0, 8) + '…' + id.slice(-4) : String(id || '?'));
  const label = (id) => { const i = state.nodeIndex.get(id); return i === undefined ? shortId(id) : state.nodes[i].label; };
  const attr = (s, k) => (s.attributes ? s.attributes[k] : undefined);
  const msgName = (s) => attr(s, 'peersocket.message.name') || String(s.name).replace(/^(send|receive|recv|handle)\s+/i, '');
  const ms = (ns) => (ns / 1e6).toFixed(ns < 1e7 ? 2 : 1);
  const edgeKey = (a, b) => (a < b ? a + '|' + b : b + '|' + a);
  const isSend = (s) => s.kind === 'CLIENT' || s.kind === 'PRODUCER';
  const isRecv = (s) => s.kind === 'SERVER' || s.kind === 'CONSUMER';

  // ---- data ----

  async function getJson(url) {
    const r = await fetch(url, { cache: 'no-store' });
    if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
    return r.json();
  }

  async function pollGraph() {
    const g = await getJson('api/graph');
    if (g.title) { $('title').textContent = g.title; document.title = g.title; }
    const key = JSON.stringify([g.nodes.map((n) => [n.id, n.label, n.up]), g.edges.map((e) => e.a + '|' + e.b)]);
    if (key !== state.graphKey) {
      state.graphKey = key;
      state.nodes = g.nodes;
      state.nodeIndex = new Map(g.nodes.map((n, i) => [n.id, i]));
      state.edges = g.edges;
      drawGraph();
      state.listDirty = true;
      state.selectedVersion = -1;
    }
    state.graphOk = true;
  }

  async function pollSpans() {
    for (let pages = 0; pages < 5; pages++) {
      const p = await getJson('api/spans?since=' + state.cursor + '&limit=' + PAGE);
      if (p.cursor < state.cursor) { // a new server (cursors start again): drop what we have and read it all
        state.traces.clear(); state.totalSpans = 0; state.listDirty = true; state.cursor = 0;
        continue;
      }
      state.cursor = p.cursor;
      ingest(p.spans);
      if (p.spans.length < PAGE) break;
    }
    state.spansFetched = true;
  }

  function ingest(spans) {
    for (const s of spans) {
      let t = state.traces.get(s.traceId);
      if (!t) {
        t = { id: s.traceId, spans: [], start: Infinity, end: -Infinity, first: null, peers: new Set(),
          protocols: new Set(), names: new Set(), error: false, version: 0 };
        state.traces.set(s.traceId, t);
      }
      t.spans.push(s);
      t.version++;
      const remote = attr(s, 'peersocket.remote_peer');
      const protocol = attr(s, 'peersocket.protocol');
      const name = remote ? msgName(s) : '';
      if (s.startNanos < t.start) t.start = s.startNanos;
      if (s.endNanos > t.end) t.end = s.endNanos;
      // The trace's first message: its earliest span between two peers (else its earliest span).
      if (!t.first || (remote && (!t.firstRemote || s.startNanos < t.first.startNanos))
          || (!remote && !t.firstRemote && s.startNanos < t.first.startNanos)) {
        t.first = s;
        t.firstRemote = !!remote;
      }
      t.peers.add(s.peer);
      state.peersSeen.add(s.peer);
      if (remote) {
        t.peers.add(remote);
        const k = edgeKey(s.peer, remote);
        if (!(state.edgeActivity.get(k) >= s.endNanos)) state.edgeActivity.set(k, s.endNanos);
      }
      if (protocol) { t.protocols.add(protocol); state.protocols.add(protocol); }
      if (name) { t.names.add(name); state.names.add(name); }
      if (s.status === 'ERROR') t.error = true;
      state.totalSpans++;
    }
    // Bound memory: drop the oldest traces (Map keeps first-seen order).
    while (state.totalSpans > MAX_SPANS) {
      const [id, t] = state.traces.entries().next().value;
      state.traces.delete(id);
      state.totalSpans -= t.spans.length;
    }
    if (spans.length) state.listDirty = true;
  }

  function matches(t) {
    const f = state.filter;
    return (!f.peer || t.peers.has(f.peer)) && (!f.protocol || t.protocols.has(f.protocol))
      && (!f.msg || t.names.has(f.msg)) && (!f.trace || t.id.startsWith(f.trace));
  }

  // ---- graph ----

  function drawGraph() {
    const svg = $('graph');
    const n = state.nodes.length;
    const c = 210, R = n <= 1 ? 0 : 150, r = n > 30 ? 7 : 11;
    const pos = new Map();
    state.nodes.forEach((node, i) => {
      const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, n);
      pos.set(node.id, { x: c + R * Math.cos(a), y: c + R * Math.sin(a), dx: Math.cos(a), dy: Math.sin(a) });
    });
    let html = '<g class="edges">';
    for (const e of state.edges) {
      const p = pos.get(e.a), q = pos.get(e.b);
      if (!p || !q) continue;
      html += '<line class="edge" data-edge="' + esc(e.a + '|' + e.b) + '" x1="' + p.x.toFixed(1) + '" y1="' + p.y.toFixed(1)
        + '" x2="' + q.x.toFixed(1) + '" y2="' + q.y.toFixed(1) + '"></line>';
    }
    html += '</g><g class="nodes">';
    for (const node of state.nodes) {
      const p = pos.get(node.id);
      const anchor = Math.abs(p.dx) < 0.3 ? 'middle' : p.dx > 0 ? 'start' : 'end';
      const lx = p.x + p.dx * (r + 9), ly = p.y + p.dy * (r + 9) + 4;
      html += '<g class="node' + (node.up === false ? ' down' : '') + '" data-node="' + esc(node.id) + '" data-label="' + esc(node.label) + '">'
        + '<title>' + esc(node.label + '\n' + node.id + '\n' + (node.addresses || []).join('\n')) + '</title>'
        + '<circle cx="' + p.x.toFixed(1) + '" cy="' + p.y.toFixed(1) + '" r="' + r + '"></circle>'
        + '<text x="' + lx.toFixed(1) + '" y="' + ly.toFixed(1) + '" text-anchor="' + anchor + '">' + esc(node.label) + '</text></g>';
    }
    html += '</g>';
    svg.innerHTML = html;
    state.edgeEls = new Map();
    svg.querySelectorAll('line[data-edge]').forEach((el) => state.edgeEls.set(el.dataset.edge, el));
    state.nodeEls = new Map();
    svg.querySelectorAll('g[data-node]').forEach((el) => state.nodeEls.set(el.dataset.node, el));
    $('graph-count').textContent = n + ' nodes, ' + state.edges.length + ' connections';
    updatePeerOptions();
  }

  function highlightGraph(seq) {
    const now = Date.now() * 1e6;
    for (const [k, el] of state.edgeEls) {
      const last = state.edgeActivity.get(k);
      el.classList.toggle('busy', last !== undefined && now - last < BUSY_NS);
      el.classList.toggle('in-trace', !!seq && seq.edges.has(k));
    }
    for (const [id, el] of state.nodeEls) {
      el.classList.toggle('in-trace', !!seq && seq.peers.includes(id));
      el.classList.toggle('selected', state.filter.peer === id);
    }
  }

  // ---- filters ----

  function setOptions(select, values, labelOf, allText) {
    const cur = select.value;
    let html = '<option value="">' + esc(allText) + '</option>';
    for (const v of values) html += '<option value="' + esc(v) + '">' + esc(labelOf(v)) + '</option>';
    select.innerHTML = html;
    select.value = values.includes(cur) ? cur : '';
  }

  function updatePeerOptions() {
    const ids = state.nodes.map((n) => n.id);
    for (const p of state.peersSeen) if (!state.nodeIndex.has(p)) ids.push(p);
    setOptions($('f-peer'), ids, (id) => label(id) + ' ' + shortId(id), 'all peers');
    $('f-peer').value = state.filter.peer;
  }

  function updateOptions() {
    const key = state.protocols.size + '/' + state.names.size + '/' + state.peersSeen.size;
    if (key === state.optionsKey) return;
    state.optionsKey = key;
    setOptions($('f-protocol'), [...state.protocols].sort(), (v) => v, 'all protocols');
    $('f-protocol').value = state.filter.protocol;
    setOptions($('f-msg'), [...state.names].sort(), (v) => v, 'all messages');
    $('f-msg').value = state.filter.msg;
    updatePeerOptions();
  }

  function wireFilters() {
    const change = () => {
      state.filter.peer = $('f-peer').value;
      state.filter.protocol = $('f-protocol').value;
      state.filter.msg = $('f-msg').value;
      state.filter.trace = $('f-trace').value.trim().toLowerCase();
      state.listDirty = true;
      render();
    };
    ['f-peer', 'f-protocol', 'f-msg'].forEach((id) => $(id).addEventListener('change', change));
    $('f-trace').addEventListener('input', change);
    $('f-clear').addEventListener('click', () => {
      ['f-peer', 'f-protocol', 'f-msg', 'f-trace'].forEach((id) => { $(id).value = ''; });
      change();
    });
    $('graph').addEventListener('click', (ev) => {
      const g = ev.target.closest('g[data-node]');
      if (!g) return;
      const id = g.dataset.node;
      state.filter.peer = state.filter.peer === id ? '' : id;
      $('f-peer').value = state.filter.peer;
      state.listDirty = true;
      render();
    });
    $('traces').querySelector('tbody').addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr[data-trace]');
      if (!tr) return;
      select(tr.dataset.trace, true);
    });
  }

  function select(id, byUser) {
    state.selected = id;
    if (byUser) state.userSelected = true;
    state.selectedVersion = -1;
    state.listDirty = true;
    history.replaceState(null, '', location.pathname + location.search + '#trace=' + encodeURIComponent(id));
    render();
  }

  // ---- trace list ----

  function renderList() {
    const rows = [];
    let total = 0;
    for (const t of state.traces.values()) {
      if (!matches(t)) continue;
      total++;
      rows.push(t);
    }
    rows.sort((a, b) => b.start - a.start);
    const shown = rows.slice(0, MAX_ROWS);
    let html = '';
    for (const t of shown) {
      const f = t.first;
      const remote = f && attr(f, 'peersocket.remote_peer');
      const when = new Date(Math.floor(t.start / 1e6));
      const time = when.toTimeString().slice(0, 8) + '.' + String(when.getMilliseconds()).padStart(3, '0');
      const cls = (t.id === state.selected ? 'selected' : '') + (t.error ? ' error' : '');
      html += '<tr data-trace="' + esc(t.id) + '" class="' + cls + '"><td>' + time + '</td><td>' + esc(f ? msgName(f) : '?')
        + '</td><td>' + esc(f ? label(f.peer) + (remote ? ' → ' + label(remote) : '') : '') + '</td><td class="num">'
        + t.spans.length + '</td><td class="num">' + ms(t.end - t.start) + '</td></tr>';
    }
    $('traces').querySelector('tbody').innerHTML = html;
    $('trace-count').textContent = total > shown.length ? 'newest ' + shown.length + ' of ' + total : String(total);
    state.listDirty = false;
  }

  // ---- sequence diagram ----

  // Turns a trace's spans into arrows between peers: a send span (CLIENT/PRODUCER) with its matching receive
  // span (SERVER/CONSUMER on the remote peer: its child, or the same message id and name); a receive without
  // a send; and, for a CLIENT span with nothing coming back, its reply (arriving when the span ends).
  function buildSequence(t) {
    const spans = t.spans.slice().sort((a, b) => a.startNanos - b.startNanos).slice(0, MAX_TRACE_SPANS);
    const recvs = spans.filter(isRecv);
    const used = new Set();
    const arrows = [];
    for (const s of spans) {
      if (!isSend(s)) continue;
      const to = attr(s, 'peersocket.remote_peer');
      if (!to) continue;
      const mid = attr(s, 'peersocket.message.id');
      const name = msgName(s);
      let r = recvs.find((x) => !used.has(x.spanId) && x.peer === to && x.parentSpanId === s.spanId);
      if (!r) {
        r = recvs.find((x) => !used.has(x.spanId) && x.peer === to && attr(x, 'peersocket.remote_peer') === s.peer
          && mid !== undefined && attr(x, 'peersocket.message.id') === mid && msgName(x) === name);
      }
      if (r) used.add(r.spanId);
      arrows.push({ from: s.peer, to, tSend: s.startNanos, tRecv: r ? r.startNanos : null, name, send: s, recv: r || null,
        error: s.status === 'ERROR' || (r && r.status === 'ERROR') });
    }
    for (const r of recvs) {
      if (used.has(r.spanId)) continue;
      const from = attr(r, 'peersocket.remote_peer');
      if (!from) continue;
      arrows.push({ from, to: r.peer, tSend: null, tRecv: r.startNanos, name: msgName(r), send: null, recv: r, error: r.status === 'ERROR' });
    }
    for (const s of spans) {
      if (s.kind !== 'CLIENT') continue;
      const remote = attr(s, 'peersocket.remote_peer');
      if (!remote) continue;
      const back = arrows.some((a) => a.from === remote && a.to === s.peer && (a.tRecv ?? a.tSend) >= s.startNanos);
      if (back) continue;
      const out = arrows.find((a) => a.send === s);
      arrows.push({ from: remote, to: s.peer, tSend: out && out.recv ? out.recv.endNanos : null, tRecv: s.endNanos,
        name: attr(s, 'peersocket.reply.name') || 'reply', send: null, recv: null, synthetic: true, error: s.status === 'ERROR' });
    }
    // A despatch message is a reply if it names the request it answers (in_reply_to); for others, a message going
    // back to a peer that sent us one earlier is taken for a reply.
    arrows.sort((a, b) => (a.tSend ?? a.tRecv) - (b.tSend ?? b.tRecv));
    arrows.forEach((a, i) => {
      const s = a.send || a.recv;
      if (a.synthetic) a.reply = true;
      else if (s && attr(s, 'peersocket.message.id') !== undefined) a.reply = attr(s, 'peersocket.message.in_reply_to') !== undefined;
      else a.reply = arrows.slice(0, i).some((p) => p.from === a.to && p.to === a.from);
    });
    const peers = [...new Set(spans.flatMap((s) => [s.peer, attr(s, 'peersocket.remote_peer')]).filter(Boolean))];
    peers.sort((a, b) => (state.nodeIndex.get(a) ?? 1e9) - (state.nodeIndex.get(b) ?? 1e9) || (a < b ? -1 : 1));
    const edges = new Set(arrows.map((a) => edgeKey(a.from, a.to)));
    return { spans, arrows, peers, edges, truncated: t.spans.length > spans.length };
  }

  function renderSequence(t, seq) {
    const svg = $('seq');
    if (!t) {
      svg.setAttribute('width', '10'); svg.setAttribute('height', '10'); svg.innerHTML = '';
      $('seq-title').textContent = state.selected ? 'trace ' + state.selected + ' is no longer in the window' : 'select a trace';
      $('seq-details').innerHTML = '';
      body.dataset.selectedTrace = '';
      return;
    }
    // Vertical position: every distinct instant gets a row; the gap grows with the log of the time between rows.
    const times = new Set();
    for (const a of seq.arrows) { if (a.tSend != null) times.add(a.tSend); if (a.tRecv != null) times.add(a.tRecv); }
    for (const s of seq.spans) { times.add(s.startNanos); times.add(s.endNanos); }
    const sorted = [...times].sort((a, b) => a - b);
    const t0 = sorted[0];
    const ys = new Map();
    let y = 70;
    sorted.forEach((tm, i) => {
      if (i > 0) y += 14 + Math.min(30, 7 * Math.log10(1 + (tm - sorted[i - 1]) / 1e3));
      ys.set(tm, y);
    });
    const height = y + 40;
    const colW = 190, left = 90;
    const xs = new Map(seq.peers.map((p, i) => [p, left + colW / 2 + i * colW]));
    const width = left + seq.peers.length * colW + 20;
    let h = '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
      + '<path d="M0,0 L10,5 L0,10 z"></path></marker></defs>';
    for (const p of seq.peers) {
      const x = xs.get(p);
      h += '<g class="peer" data-peer="' + esc(p) + '"><line class="lifeline" x1="' + x + '" y1="46" x2="' + x + '" y2="' + height + '"></line>'
        + '<rect class="peer-box" x="' + (x - 70) + '" y="8" width="140" height="24" rx="4"></rect>'
        + '<text class="peer-label" x="' + x + '" y="25">' + esc(label(p)) + '</text>'
        + '<text class="peer-id" x="' + x + '" y="44">' + esc(shortId(p)) + '</text></g>';
    }
    for (const s of seq.spans) {
      const x = xs.get(s.peer);
      if (x === undefined) continue;
      const y1 = ys.get(s.startNanos), y2 = Math.max(ys.get(s.endNanos), y1 + 4);
      h += '<rect class="activation' + (s.status === 'ERROR' ? ' error' : '') + '" x="' + (x - 5) + '" y="' + y1 + '" width="10" height="' + (y2 - y1)
        + '"><title>' + esc(s.name + ' (' + s.kind + ') on ' + label(s.peer) + ': ' + ms(s.endNanos - s.startNanos) + ' ms') + '</title></rect>';
    }
    const ticks = new Set();
    for (const a of seq.arrows) {
      const x1 = xs.get(a.from), x2 = xs.get(a.to);
      if (x1 === undefined || x2 === undefined) continue;
      const ya = ys.get(a.tSend ?? a.tRecv), yb = ys.get(a.tRecv ?? a.tSend);
      const dir = x2 > x1 ? 1 : -1;
      const xa = x1 + dir * 6, xb = x2 - dir * 6;
      const cls = 'msg' + (a.reply ? ' reply' : '') + (a.tSend == null || a.tRecv == null ? ' unmatched' : '') + (a.error ? ' error' : '');
      const transit = a.tSend != null && a.tRecv != null ? ms(a.tRecv - a.tSend) + ' ms' : (a.tSend == null ? 'sent ?' : 'not received');
      const rtt = a.send && a.send.kind === 'CLIENT' ? ' · rtt ' + ms(a.send.endNanos - a.send.startNanos) + ' ms' : '';
      const mx = (xa + xb) / 2, my = (ya + yb) / 2;
      h += '<g class="' + cls + '" data-msg="' + esc(a.name) + '" data-from="' + esc(a.from) + '" data-to="' + esc(a.to) + '">'
        + '<title>' + esc(a.name + ': ' + label(a.from) + ' → ' + label(a.to) + ', ' + transit + rtt) + '</title>'
        + '<line x1="' + xa + '" y1="' + ya + '" x2="' + xb + '" y2="' + yb + '" marker-end="url(#arrow)"></line>'
        + '<text x="' + mx + '" y="' + (my - 6) + '">' + esc(a.name) + '</text>'
        + '<text class="dur" x="' + mx + '" y="' + (my + 13) + '">' + esc(transit + rtt) + '</text></g>';
      if (a.tSend != null && !ticks.has(ya)) {
        ticks.add(ya);
        h += '<text class="tick" x="' + (left - 8) + '" y="' + (ya + 4) + '">+' + ms(a.tSend - t0) + ' ms</text>';
      }
    }
    svg.setAttribute('width', String(width));
    svg.setAttribute('height', String(height));
    svg.innerHTML = h;
    const f = t.first;
    $('seq-title').textContent = (f ? msgName(f) + ' ' : '') + 'trace ' + t.id + ' · ' + t.spans.length + ' spans · '
      + ms(t.end - t.start) + ' ms' + (seq.truncated ? ' (first ' + MAX_TRACE_SPANS + ' spans drawn)' : '');
    let d = '<table><thead><tr><th>span</th><th>kind</th><th>peer</th><th>remote</th><th>start ms</th><th>duration ms</th>'
      + '<th>message id</th><th>bytes</th><th>status</th></tr></thead><tbody>';
    for (const s of seq.spans) {
      d += '<tr><td>' + esc(s.name) + '</td><td>' + esc(s.kind) + '</td><td>' + esc(label(s.peer)) + '</td><td>'
        + esc(attr(s, 'peersocket.remote_peer') ? label(attr(s, 'peersocket.remote_peer')) : '') + '</td><td class="num">+'
        + ms(s.startNanos - t0) + '</td><td class="num">' + ms(s.endNanos - s.startNanos) + '</td><td class="num">'
        + esc(attr(s, 'peersocket.message.id') ?? '') + '</td><td class="num">' + esc(attr(s, 'peersocket.message.bytes') ?? '')
        + '</td><td>' + esc(s.status || '') + '</td></tr>';
    }
    $('seq-details').innerHTML = d + '</tbody></table>';
    body.dataset.selectedTrace = t.id;
  }

  // With ?select=NAME and no trace picked by the user: the newest trace carrying NAME whose messages were all seen
  // at both ends (else the best matched one, re-checked on each update until a complete one is selected).
  function autoSelect() {
    if (!state.autoSelect || state.userSelected) return;
    const score = (t) => {
      const seq = buildSequence(t);
      const matched = seq.arrows.filter((a) => a.tSend != null && a.tRecv != null && !a.synthetic).length;
      t.complete = matched >= 2 && matched === seq.arrows.length;
      return matched * 2 + seq.arrows.length;
    };
    const cur = state.traces.get(state.selected);
    if (cur && (cur.complete || (score(cur), cur.complete))) return; // keep a complete selection
    let best = null, bestScore = -1;
    const candidates = [];
    for (const t of state.traces.values()) if (t.names.has(state.autoSelect) && matches(t)) candidates.push(t);
    candidates.sort((a, b) => b.start - a.start);
    for (const t of candidates.slice(0, 100)) {
      const sc = score(t);
      if (t.complete) { best = t; break; } // the newest complete one
      if (sc > bestScore) { best = t; bestScore = sc; }
    }
    if (best && best.id !== state.selected) select(best.id, false);
  }

  // ---- main loop ----

  function render() {
    const t0 = performance.now();
    updateOptions();
    autoSelect();
    if (state.listDirty) renderList();
    const t = state.traces.get(state.selected);
    let seq = state.seq;
    if (!t) {
      seq = null;
      renderSequence(null, null);
    } else if (t.version !== state.selectedVersion || state.seqTrace !== t.id) {
      seq = buildSequence(t);
      renderSequence(t, seq);
      state.selectedVersion = t.version;
      state.seqTrace = t.id;
    }
    state.seq = seq;
    highlightGraph(seq);
    const dt = performance.now() - t0;
    body.dataset.renderMs = dt.toFixed(1);
    state.maxRenderMs = Math.max(state.maxRenderMs, dt);
    body.dataset.maxRenderMs = state.maxRenderMs.toFixed(1);
    return dt;
  }

  async function tick() {
    const status = $('status');
    const t0 = performance.now();
    try {
      await Promise.all([pollGraph(), pollSpans()]);
    } catch (e) {
      body.dataset.pollError = String(e.message);
      status.classList.add('down');
      status.textContent = 'no answer from the testbed (' + e.message + '); retrying';
      setTimeout(tick, POLL_MS);
      return;
    }
    try {
      render();
    } finally {
      setTimeout(tick, POLL_MS); // a drawing bug is reported (data-errors) but does not stop the updates
    }
    const dt = performance.now() - t0;
    body.dataset.nodes = String(state.nodes.length);
    body.dataset.edges = String((state.edges || []).length);
    body.dataset.spans = String(state.totalSpans);
    body.dataset.traces = String(state.traces.size);
    if (body.dataset.ready !== '1' && state.graphOk && state.spansFetched) {
      body.dataset.firstRenderMs = dt.toFixed(1);
      body.dataset.ready = '1';
    }
    status.classList.remove('down');
    status.textContent = state.nodes.length + ' nodes · ' + (state.edges || []).length + ' connections · '
      + state.totalSpans + ' spans · ' + state.traces.size + ' traces · updated ' + new Date().toTimeString().slice(0, 8);
  }

  // Uncaught errors are counted in body[data-errors] (the browser tests require none).
  const countError = (message) => {
    body.dataset.errors = String((Number(body.dataset.errors) || 0) + 1);
    body.dataset.lastError = String(message);
  };
  window.addEventListener('error', (e) => countError(e.message));
  window.addEventListener('unhandledrejection', (e) => countError(e.reason && e.reason.stack ? e.reason.stack : e.reason));
  for (const [k, id] of [['peer', 'f-peer'], ['protocol', 'f-protocol'], ['msg', 'f-msg']]) {
    if (state.filter[k]) $(id).innerHTML += '<option value="' + esc(state.filter[k]) + '">' + esc(state.filter[k]) + '</option>';
    $(id).value = state.filter[k];
  }
  wireFilters();
  tick();
})();
