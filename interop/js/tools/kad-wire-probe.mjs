#!/usr/bin/env node
// Probes the wire behaviour of @libp2p/kad-dht 16 (as run by `peer.mjs --dht`)
// with hand-made /ipfs/kad/1.0.0 messages, for the Java DHT implementation.
//
//   node tools/kad-wire-probe.mjs          (prints one line per finding to stdout)
//
// It starts `peer.mjs --dht` as S, and an in-process js-libp2p node R without
// kad-dht that handles /ipfs/kad/1.0.0 itself: R logs every request S sends it
// and answers with an empty message of the same type (PUT_VALUE /test/echoed
// is echoed; GET_VALUE /test/from-r gets a record without timeReceived). R
// then sends requests to S on raw streams. Nothing here is used by the tests;
// it documents facts (see README.md, "Facts about kad-dht 16").

if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers () {
      let resolve
      let reject
      const promise = new this((res, rej) => { resolve = res; reject = rej })
      return { promise, resolve, reject }
    }
  })
}

const { spawn } = await import('node:child_process')
const { createInterface } = await import('node:readline')
const { createLibp2p } = await import('libp2p')
const { quic } = await import('@chainsafe/libp2p-quic')
const { identify } = await import('@libp2p/identify')
const { ping } = await import('@libp2p/ping')
const { pbStream } = await import('@libp2p/utils')
const { peerIdFromString, peerIdFromMultihash } = await import('@libp2p/peer-id')
const Digest = await import('multiformats/hashes/digest')
const { multiaddr } = await import('@multiformats/multiaddr')
const { sha256 } = await import('multiformats/hashes/sha2')
const { identity } = await import('multiformats/hashes/identity')
const { CID } = await import('multiformats/cid')
const raw = await import('multiformats/codecs/raw')
const { Message, MessageType, Record } = await import(new URL('../node_modules/@libp2p/kad-dht/dist/src/message/dht.js', import.meta.url))

const PROTOCOL = '/ipfs/kad/1.0.0'
const enc = new TextEncoder()
const hex = (b) => Buffer.from(b).toString('hex')

function finding (what, detail) {
  console.log(`${what}: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`)
}

function describeMessage (msg) {
  return {
    type: msg.type,
    key: msg.key == null ? null : hex(msg.key),
    keyText: msg.key == null ? null : Buffer.from(msg.key).toString('latin1').replace(/[^\x20-\x7e]/g, '.'),
    clusterLevel: msg.clusterLevel ?? null,
    record: msg.record == null ? null : (() => { const r = Record.decode(msg.record); return { key: Buffer.from(r.key ?? []).toString(), value: (r.value?.length ?? 0) > 64 ? `<${r.value.length} bytes>` : Buffer.from(r.value ?? []).toString(), timeReceived: r.timeReceived ?? null, author: r.author ?? null } })(),
    closer: msg.closer.map(describePeer),
    providers: msg.providers.map(describePeer)
  }
}

function describePeer (p) {
  let id
  try { id = peerIdFromMultihash(Digest.decode(p.id)).toString() } catch { id = `undecodable ${hex(p.id)}` }
  return { id, addrs: p.multiaddrs.map(a => multiaddr(a).toString()), connection: p.connection ?? null }
}

// ------------------------------------------------------------------ S: peer.mjs --dht

const s = spawn(process.execPath, ['peer.mjs', '--dht'], {
  cwd: new URL('..', import.meta.url).pathname,
  env: { ...process.env, DEBUG: process.env.DEBUG ?? 'libp2p:kad-dht*:error' }
})
s.stderr.on('data', (d) => process.stderr.write(`[S] ${d}`))
const sLines = createInterface({ input: s.stdout })
const sPending = new Map()
let sReady
const sReadyP = new Promise((resolve) => { sReady = resolve })
sLines.on('line', (line) => {
  const json = JSON.parse(line)
  if (json.event === 'ready') sReady(json)
  else if (json.id != null) sPending.get(json.id)?.(json)
})
let sNext = 0
function sCall (cmd) {
  const id = String(++sNext)
  return new Promise((resolve) => {
    sPending.set(id, resolve)
    s.stdin.write(JSON.stringify({ id, ...cmd }) + '\n')
  })
}

// ------------------------------------------------------------------ R: raw node

const inbound = []
const r = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/udp/0/quic-v1'] },
  transports: [quic()],
  services: { identify: identify(), ping: ping() }
})
await r.handle(PROTOCOL, async (stream, connection) => {
  const pb = pbStream(stream).pb(Message)
  let n = 0
  const closed = new Promise((resolve) => stream.addEventListener('close', (evt) => resolve(evt.error?.name ?? 'clean'), { once: true }))
  try {
    while (true) {
      const msg = await pb.read({ signal: AbortSignal.timeout(15_000) })
      n++
      inbound.push(describeMessage(msg))
      finding('S->R request', describeMessage(msg))
      if (msg.type === MessageType.PUT_VALUE && Buffer.from(msg.key ?? []).toString() === '/test/echoed') {
        await pb.write(msg) // echo, as kad-dht's own PUT_VALUE handler does
      } else if (msg.type === MessageType.GET_VALUE && Buffer.from(msg.key ?? []).toString() === '/test/from-r') {
        // a record without timeReceived
        await pb.write({ type: msg.type, key: msg.key, record: Record.encode({ key: msg.key, value: enc.encode('vr') }), closer: [], providers: [] })
      } else if (msg.type !== MessageType.ADD_PROVIDER) {
        await pb.write({ type: msg.type, key: msg.key, closer: [], providers: [] })
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
      if (stream.remoteWriteStatus !== 'writable') break
    }
  } catch (err) {
    finding('S->R stream read ended', `${err.name}: ${err.message}`)
  }
  finding('S->R stream', { requestsOnStream: n, remoteWriteStatusAfter: stream.remoteWriteStatus })
  await stream.close().catch(() => {})
  finding('S->R stream close', await closed)
})

const sInfo = await sReadyP
const sId = peerIdFromString(sInfo.peerId)
finding('S ready', sInfo)

// R dials S; S identifies R, sees /ipfs/kad/1.0.0, pings R, and adds it.
await r.dial(multiaddr(sInfo.addrs[0]))
finding('S awaitSelfQuery', await sCall({ cmd: 'awaitSelfQuery', timeoutMs: 10_000 }))
finding('S routingTable', await sCall({ cmd: 'routingTable' }))

async function exchange (label, messages, { expectAnswers = true, closeWrite = true } = {}) {
  const stream = await r.dialProtocol(sId, PROTOCOL)
  const closed = new Promise((resolve) => stream.addEventListener('close', (evt) => resolve(evt.error == null ? 'clean' : `${evt.error.name}: ${evt.error.message}`), { once: true }))
  const pb = pbStream(stream).pb(Message)
  const answers = []
  try {
    for (const m of messages) {
      await pb.write({ closer: [], providers: [], ...m })
      if (expectAnswers) answers.push(describeMessage(await pb.read({ signal: AbortSignal.timeout(5_000) })))
    }
  } catch (err) {
    answers.push(`error ${err.name}: ${err.message}`)
  }
  const writeStatusOfS = stream.remoteWriteStatus
  if (closeWrite) await stream.close().catch((err) => answers.push(`close error ${err.name}`))
  const how = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve('still open after 12 s'), 12_000))])
  finding(label, { answers, sHalfClosedBeforeOurFin: writeStatusOfS !== 'writable', streamEnd: how })
  return answers
}

const rId = r.peerId
const mhOf = async (text) => (await sha256.digest(enc.encode(text))).bytes

await exchange('FIND_NODE x2 on one stream (key = R id)', [
  { type: MessageType.FIND_NODE, key: rId.toMultihash().bytes },
  { type: MessageType.FIND_NODE, key: sId.toMultihash().bytes }
])
await exchange('FIND_NODE for S itself, clusterLevel 3', [
  { type: MessageType.FIND_NODE, key: sId.toMultihash().bytes, clusterLevel: 3 }
])
await exchange('FIND_NODE with random 32-byte key', [
  { type: MessageType.FIND_NODE, key: crypto.getRandomValues(new Uint8Array(32)) }
])
await exchange('PUT_VALUE /test/ record without timeReceived', [
  { type: MessageType.PUT_VALUE, key: enc.encode('/test/a'), record: Record.encode({ key: enc.encode('/test/a'), value: enc.encode('va') }) }
])
await exchange('PUT_VALUE record key differs from message key', [
  { type: MessageType.PUT_VALUE, key: enc.encode('/test/outer'), record: Record.encode({ key: enc.encode('/test/inner'), value: enc.encode('vi') }) }
])
await exchange('GET_VALUE /test/inner, /test/a', [
  { type: MessageType.GET_VALUE, key: enc.encode('/test/inner') },
  { type: MessageType.GET_VALUE, key: enc.encode('/test/a') }
])
await exchange('PUT_VALUE unknown namespace /other/x', [
  { type: MessageType.PUT_VALUE, key: enc.encode('/other/x'), record: Record.encode({ key: enc.encode('/other/x'), value: enc.encode('v') }) }
])
await exchange('GET_VALUE missing /test/none', [
  { type: MessageType.GET_VALUE, key: enc.encode('/test/none') }
])
await exchange('GET_VALUE /pk/<S id>', [
  { type: MessageType.GET_VALUE, key: new Uint8Array([...enc.encode('/pk/'), ...sId.toMultihash().bytes]) }
])
const mh = await mhOf('probe-content')
await exchange('ADD_PROVIDER key = sha256 multihash, provider R (addr with /p2p)', [
  { type: MessageType.ADD_PROVIDER, key: mh, providers: [{ id: rId.toMultihash().bytes, multiaddrs: r.getMultiaddrs().map(a => a.bytes) }] }
], { expectAnswers: false })
await exchange('GET_PROVIDERS key = sha256 multihash', [
  { type: MessageType.GET_PROVIDERS, key: mh }
])
const mh2 = await mhOf('probe-content-2')
await exchange('ADD_PROVIDER key = CIDv1 bytes', [
  { type: MessageType.ADD_PROVIDER, key: CID.createV1(raw.code, Digest.decode(mh2)).bytes, providers: [{ id: rId.toMultihash().bytes, multiaddrs: r.getMultiaddrs().map(a => a.decapsulate('/p2p/' + rId).bytes) }] }
], { expectAnswers: false })
await exchange('GET_PROVIDERS key = multihash of that CIDv1', [
  { type: MessageType.GET_PROVIDERS, key: mh2 }
])
await exchange('ADD_PROVIDER provider id is not the sender', [
  { type: MessageType.ADD_PROVIDER, key: await mhOf('c3'), providers: [{ id: sId.toMultihash().bytes, multiaddrs: [multiaddr('/ip4/127.0.0.1/udp/9/quic-v1').bytes] }] }
], { expectAnswers: false })
await exchange('GET_PROVIDERS key = identity multihash', [
  { type: MessageType.GET_PROVIDERS, key: identity.digest(enc.encode('x')).bytes }
])
await exchange('PING', [{ type: MessageType.PING }])
await exchange('GET_PROVIDERS for the record whose provider was not the sender', [
  { type: MessageType.GET_PROVIDERS, key: await mhOf('c3') }
])
{
  // Idle stream: one request answered, then nothing from us for 11 s.
  const stream = await r.dialProtocol(sId, PROTOCOL)
  const events = []
  const t0 = Date.now()
  stream.addEventListener('remoteCloseWrite', () => events.push(`remoteCloseWrite after ${Date.now() - t0} ms`))
  stream.addEventListener('close', (evt) => events.push(`close after ${Date.now() - t0} ms: ${evt.error == null ? 'clean' : `${evt.error.name}: ${evt.error.message}`}`))
  const pb = pbStream(stream).pb(Message)
  await pb.write({ type: MessageType.PING, closer: [], providers: [] })
  await pb.read({ signal: AbortSignal.timeout(5_000) })
  await new Promise((resolve) => setTimeout(resolve, 11_000))
  let second
  try {
    await pb.write({ type: MessageType.PING, closer: [], providers: [] })
    second = describeMessage(await pb.read({ signal: AbortSignal.timeout(3_000) })).type
  } catch (err) {
    second = `${err.name}: ${err.message}`
  }
  finding('idle stream (no FIN for 11 s after one answer)', { events, remoteWriteStatus: stream.remoteWriteStatus, status: stream.status, secondRequest: second })
  stream.abort(new Error('probe done'))
}
{
  // A message of 4 MiB + 1 KiB (PUT_VALUE with a large value).
  const big = new Uint8Array(4 * 1024 * 1024 + 1024)
  await exchange('PUT_VALUE of about 4 MiB + 1 KiB', [
    { type: MessageType.PUT_VALUE, key: enc.encode('/test/big'), record: Record.encode({ key: enc.encode('/test/big'), value: big }) }
  ])
  const fits = new Uint8Array(4 * 1024 * 1024 - 1024)
  const answers = await exchange('PUT_VALUE of about 4 MiB - 1 KiB', [
    { type: MessageType.PUT_VALUE, key: enc.encode('/test/fits'), record: Record.encode({ key: enc.encode('/test/fits'), value: fits }) }
  ].map(m => m))
  void answers
}

// S as client: what it sends to R and how it ends the streams.
finding('S findPeer of unknown id via R', await sCall({ cmd: 'findPeer', peerId: '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN', timeoutMs: 5000 }))
finding('S put /test/from-s', await sCall({ cmd: 'put', key: '/test/from-s', value: Buffer.from('vs').toString('base64'), timeoutMs: 5000 }))
finding('S put /test/echoed (R echoes the request)', await sCall({ cmd: 'put', key: '/test/echoed', value: Buffer.from('ve').toString('base64'), timeoutMs: 5000 }))
finding('S get /test/from-r (R answers a record without timeReceived)', await sCall({ cmd: 'get', key: '/test/from-r', timeoutMs: 5000 }))
finding('S get /test/none2', await sCall({ cmd: 'get', key: '/test/none2', timeoutMs: 5000 }))
finding('S provide', await sCall({ cmd: 'provide', multihash: Buffer.from(await mhOf('from-s')).toString('base64'), timeoutMs: 5000 }))
finding('S findProviders', await sCall({ cmd: 'findProviders', multihash: Buffer.from(await mhOf('nobody')).toString('base64'), timeoutMs: 5000 }))
await new Promise((resolve) => setTimeout(resolve, 1000))

s.stdin.end()
await r.stop()
