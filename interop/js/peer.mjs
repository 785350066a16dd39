#!/usr/bin/env node
// An independent js-libp2p peer (QUIC v1 + libp2p TLS, ping, identify, and with
// --dht the Kademlia DHT) that Peersocket's Java interop tests drive over JSON lines.
//
//   node peer.mjs [--seed HEX32] [--listen MULTIADDR] [--agent STRING] [--dht] [--pubsub] [--tcp] [--autonat]
//                 [--relay-server] [--relay-client] [--relay-listen RELAY_MULTIADDR]...
//
// --tcp also listens on /ip4/127.0.0.1/tcp/0 with @libp2p/tcp + @libp2p/noise + @libp2p/yamux (and can
// dial /tcp addresses): the ready line's "addrs" then also holds a /tcp/…/p2p/… address, and the peer
// serves /peersocket/echo/1.0.0 (echoes every byte, closes after the remote closes).
//
// stdout carries only JSON lines (one object per line):
//   first   {"event":"ready","peerId":"12D3…","addrs":["/ip4/127.0.0.1/udp/N/quic-v1/p2p/12D3…"]}
//           with --dht also "dht":true,"dhtMode":"server","dhtProtocol":"/ipfs/kad/1.0.0"
//           (written once the DHT service has started)
//   then    one answer per command read from stdin, echoing the command's "id",
//           interleaved with event lines:
//           {"event":"identified","peerId":…,"protocols":[…],"agentVersion":…,…}
//           emitted whenever this peer has finished identifying a remote peer
//           (the remote answered our /ipfs/id/1.0.0 request), inbound or outbound.
// Commands (stdin, one JSON object per line; optional "id" and "timeoutMs"):
//   {"cmd":"ping","addr":MA}          -> {"ok":true,"rttMs":N}
//   {"cmd":"identify","addr":MA}      -> {"ok":true,"peerId","protocols","listenAddrs",
//                                         "agentVersion","protocolVersion","observedAddr"}
//   {"cmd":"peers"}                   -> {"ok":true,"peers":[{"peerId","addrs":[…]}]}
//   {"cmd":"lastIdentify"[,"peerId"]} -> {"ok":true,"identified":EVENT|null}
//   {"cmd":"hangup","peerId":P}       -> {"ok":true}
//   {"cmd":"dial","addr":MA}          -> {"ok":true,"peerId","remoteAddr"}  (connect only)
//   {"cmd":"quit"}                    -> {"ok":true}, then stops and exits 0
// DHT commands (only with --dht; otherwise they answer ok:false). Keys and values
// travel as base64 where they are bytes. Every network query first waits, inside
// kad-dht, until the routing table has a peer and the first self-lookup has ended
// (see awaitSelfQuery), all within the command's timeoutMs.
//   {"cmd":"findPeer","peerId":P[,"useCache":false]}
//                                     -> {"ok":true,"peerId","addrs":[…],"from":P}
//        useCache false (default) skips the local peer store and asks the network;
//        "from" is the peer whose FIND_NODE answer carried the record.
//   {"cmd":"put","key":"/test/…","value":B64}
//                                     -> {"ok":true,"storedAt":[P…],"errors":[…]}
//        stores locally and sends PUT_VALUE to the closest peers; storedAt lists the
//        peers that echoed the record back (may be empty: check it).
//   {"cmd":"get","key":"/test/…"}     -> {"ok":true,"value":B64,"from":P}  (from is
//        our own id for a local hit); not found -> ok:false
//   {"cmd":"provide","cid":CID} or {"cmd":"provide","multihash":B64}
//                                     -> {"ok":true,"cid","sentTo":[P…],"errors":[…]}
//   {"cmd":"findProviders","cid":CID|"multihash":B64[,"count":N]}
//                                     -> {"ok":true,"providers":[{"peerId","addrs":[…],"from"}]}
//        "cid" is any CID string (v0 Qm… or v1 b…); "multihash" is the raw multihash
//        bytes (wrapped as a CIDv1 raw). kad-dht keys provider records by the
//        multihash only, so a CIDv0 and a CIDv1 of one multihash are the same record.
//        count (default 20) stops the query after that many providers.
//   {"cmd":"routingTable"}            -> {"ok":true,"mode","size","peers":[{"peerId","addrs":[…]}]}
//   {"cmd":"awaitSelfQuery"}          -> {"ok":true,"succeeded":BOOL,"durationMs":N|null,
//                                         "routingTableSize":N}
//        answers once kad-dht's first self-lookup has ended (it starts 1 s after
//        start, waits without a time limit for the first routing-table peer, then
//        runs FIND_NODE for our own id); succeeded false if that lookup failed.
// Pubsub commands (only with --pubsub: @libp2p/gossipsub 17 as service "pubsub", StrictSign,
// /meshsub/1.2.0, 1.1.0, 1.0.0; data travels as base64):
//   {"cmd":"subscribe","topic":T}     -> {"ok":true}
//   {"cmd":"publish","topic":T,"data":B64}
//                                     -> {"ok":true,"recipients":[P…]}  (publishing to no peer is allowed)
//   {"cmd":"received"[,"topic":T]}    -> {"ok":true,"messages":[{"topic","from","seqno","data":B64,"receivedFrom"}]}
//        every message delivered to this peer's subscriptions so far, oldest first
//   {"cmd":"topicPeers","topic":T}    -> {"ok":true,"peers":[P…],"mesh":[P…]}
// Circuit Relay v2 (@libp2p/circuit-relay-v2):
//   --relay-server   runs circuitRelayServer() as service "relay" (default limits: 2 min, 128 KiB per direction)
//   --relay-client   adds circuitRelayTransport() with Noise + Yamux for relayed connections, so /p2p-circuit
//                    addresses can be dialled (ping, identify, dial) and relayed connections accepted
//   --relay-listen MA  (repeatable; implies --relay-client) reserves a slot on the relay MA (ending in /p2p/RELAY)
//                    by listening on MA/p2p-circuit; the reservation is made before the ready line, whose
//                    "addrs" then include the circuit addresses
//   {"cmd":"relayReservations"}       -> {"ok":true,"reservations":[P…]}  peers holding a reservation on our
//                                        relay service (--relay-server)
// AutoNAT commands (only with --autonat: @libp2p/autonat 3 v1 service "autoNAT" on /libp2p/autonat/1.0.0,
// client and server; it answers DIAL requests and, on each new connection to a peer serving AutoNAT, asks that
// peer to verify one unverified public address of ours — private ones (127.0.0.1 …) are never sent nor dialled):
//   {"cmd":"mapPublicAddress","ip":IP4}
//                                     -> {"ok":true,"mapped":[MA…]}  maps every 127.0.0.1 UDP listen port P to
//        IP4:P (addressManager.addPublicAddressMapping, as a UPnP/NAT-PMP service would), giving the node an
//        unverified public address that autonat then asks new AutoNAT peers to verify
//   {"cmd":"addressInfo"}             -> {"ok":true,"addresses":[{"addr","type","verified","expires"}]}
//        the address manager's view (getAddressesWithMetadata): verified flips to true when an autonat
//        server answered OK for it
// Failures answer {"ok":false,"error":"…"}. Everything else (logs, libp2p debug
// output via DEBUG=libp2p:*) goes to stderr. The process also stops when stdin
// closes, and on SIGTERM/SIGINT.

// libp2p 3 uses Promise.withResolvers (Node >= 22). Install a polyfill before
// any libp2p module is evaluated: static imports are hoisted, so libp2p is
// loaded below with dynamic import().
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

const { createInterface } = await import('node:readline')
const { createLibp2p } = await import('libp2p')
const { quic } = await import('@chainsafe/libp2p-quic')
const { identify } = await import('@libp2p/identify')
const { ping } = await import('@libp2p/ping')
const { generateKeyPair, generateKeyPairFromSeed } = await import('@libp2p/crypto/keys')
const { peerIdFromString } = await import('@libp2p/peer-id')
const { multiaddr } = await import('@multiformats/multiaddr')

const DEFAULT_TIMEOUT_MS = 10_000
const DHT_PROTOCOL = '/ipfs/kad/1.0.0'
/** At most this many query errors are reported per put/provide answer. */
const MAX_REPORTED_ERRORS = 20
const MAX_LINE_CHARS = 64 * 1024

function log (...args) {
  console.error('[peer.mjs]', ...args)
}

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function fail (message) {
  log(message)
  process.exit(2)
}

function parseArgs (argv) {
  const opts = { seed: null, listen: '/ip4/127.0.0.1/udp/0/quic-v1', agent: null, dht: false, pubsub: false, tcp: false, relayServer: false, relayClient: false, relayListen: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) fail(`missing value after ${arg}`)
      return argv[++i]
    }
    if (arg === '--seed') {
      const hex = value()
      if (!/^[0-9a-fA-F]{64}$/.test(hex)) fail('--seed must be 64 hex digits (32 bytes)')
      opts.seed = Uint8Array.from(Buffer.from(hex, 'hex'))
    } else if (arg === '--listen') {
      opts.listen = value()
    } else if (arg === '--agent') {
      opts.agent = value()
    } else if (arg === '--dht') {
      opts.dht = true
    } else if (arg === '--pubsub') {
      opts.pubsub = true
    } else if (arg === '--tcp') {
      opts.tcp = true
    } else if (arg === '--relay-server') {
      opts.relayServer = true
    } else if (arg === '--relay-client') {
      opts.relayClient = true
    } else if (arg === '--relay-listen') {
      opts.relayListen.push(value())
      opts.relayClient = true
    } else if (arg === '--autonat') {
      opts.autonat = true // AutoNAT block below
    } else {
      fail(`unknown argument ${arg}; usage: node peer.mjs [--seed HEX32] [--listen MULTIADDR] [--agent STRING] [--dht] [--pubsub] [--tcp] [--relay-server] [--relay-client] [--relay-listen MA] [--autonat]`)
    }
  }
  return opts
}

function errorText (err) {
  if (err == null) return 'unknown error'
  const name = err.name && err.name !== 'Error' ? `${err.name}: ` : ''
  const msg = err.message ?? String(err)
  const cause = err.cause?.message ? ` (cause: ${err.cause.message})` : ''
  return `${name}${msg}${cause}`
}

function identifyToJson (result) {
  return {
    peerId: result.peerId.toString(),
    protocols: [...(result.protocols ?? [])],
    listenAddrs: (result.listenAddrs ?? []).map(a => a.toString()),
    agentVersion: result.agentVersion ?? null,
    protocolVersion: result.protocolVersion ?? null,
    observedAddr: result.observedAddr?.toString() ?? null
  }
}

const opts = parseArgs(process.argv.slice(2))
const privateKey = opts.seed != null
  ? await generateKeyPairFromSeed('Ed25519', opts.seed)
  : await generateKeyPair('Ed25519')

const dhtModule = opts.dht ? await loadDht() : null
const pubsubModule = opts.pubsub ? await import('@libp2p/gossipsub') : null
const autonatModule = opts.autonat === true ? await import('@libp2p/autonat') : null

// ---------------------------------------------------------------- TCP + Noise + Yamux (--tcp)
// A second transport next to QUIC, upgraded the classic libp2p way (multistream /noise, Noise XX,
// multistream /yamux/1.0.0): what Peersocket's NoiseYamuxUpgrader must be byte-compatible with.
const tcpStack = opts.tcp ? await loadTcpStack() : null

async function loadTcpStack () {
  const { tcp } = await import('@libp2p/tcp')
  const { noise } = await import('@libp2p/noise')
  const { yamux } = await import('@libp2p/yamux')
  return {
    listen: ['/ip4/127.0.0.1/tcp/0'],
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  }
}
// ---------------------------------------------------------------- end --tcp

// ---------------------------------------------------------------- Circuit Relay v2 (--relay-server, --relay-client, --relay-listen)
const relayStack = opts.relayServer || opts.relayClient ? await loadRelayStack() : null

async function loadRelayStack () {
  const { circuitRelayServer, circuitRelayTransport } = await import('@libp2p/circuit-relay-v2')
  const out = { listen: [], transports: [], connectionEncrypters: null, streamMuxers: null, services: {} }
  if (opts.relayServer) out.services.relay = circuitRelayServer()
  if (opts.relayClient) {
    const { noise } = await import('@libp2p/noise')
    const { yamux } = await import('@libp2p/yamux')
    out.transports.push(circuitRelayTransport())
    out.connectionEncrypters = [noise()]
    out.streamMuxers = [yamux()]
    out.listen = opts.relayListen.map(a => `${a}/p2p-circuit`)
  }
  return out
}
const upgradeStack = tcpStack ?? (relayStack?.connectionEncrypters != null ? relayStack : null)
// ---------------------------------------------------------------- end relay

const node = await createLibp2p({
  privateKey,
  addresses: { listen: [opts.listen, ...(tcpStack?.listen ?? []), ...(relayStack?.listen ?? [])] },
  transports: [quic(), ...(tcpStack?.transports ?? []), ...(relayStack?.transports ?? [])],
  ...(upgradeStack != null ? { connectionEncrypters: upgradeStack.connectionEncrypters, streamMuxers: upgradeStack.streamMuxers } : {}),
  ...(opts.agent != null ? { nodeInfo: { userAgent: opts.agent } } : {}),
  services: {
    identify: identify(),
    ping: ping(),
    ...(relayStack?.services ?? {}),
    ...(dhtModule != null ? { dht: dhtModule.service } : {}),
    ...(pubsubModule != null
      ? {
          pubsub: pubsubModule.gossipsub({
            globalSignaturePolicy: pubsubModule.StrictSign,
            allowPublishToZeroTopicPeers: true,
            emitSelf: false
          })
        }
      : {}),
    ...(autonatModule != null
      ? {
          autoNAT: autonatModule.autoNAT(),
          // gives the AutoNAT commands the address manager (services get the node's components)
          autonatAddresses: (components) => ({ addressManager: components.addressManager })
        }
      : {})
  }
})

// ---------------------------------------------------------------- echo (--tcp)
// With --tcp the peer also serves /peersocket/echo/1.0.0 (every byte back, then close on the remote's
// close), so Java can push bulk data through js-libp2p's yamux flow control.
const ECHO_PROTOCOL = '/peersocket/echo/1.0.0'
if (tcpStack != null) {
  await node.handle(ECHO_PROTOCOL, async (stream) => {
    try {
      for await (const chunk of stream) {
        if (!stream.send(chunk)) await stream.onDrain()
      }
      await stream.close()
    } catch (err) {
      log('echo stream failed:', errorText(err))
      stream.abort(err)
    }
  }, { maxInboundStreams: 256 })
}

// ---------------------------------------------------------------- pubsub (--pubsub)

const pubsub = node.services.pubsub ?? null
const receivedMessages = []
const MAX_RECEIVED = 10_000
if (pubsub != null) {
  pubsub.addEventListener('gossipsub:message', (evt) => {
    const { msg, propagationSource } = evt.detail
    if (receivedMessages.length >= MAX_RECEIVED) receivedMessages.shift()
    receivedMessages.push({
      topic: msg.topic,
      from: msg.type === 'signed' ? msg.from.toString() : null,
      seqno: msg.type === 'signed' ? msg.sequenceNumber.toString() : null,
      data: toBase64(msg.data),
      receivedFrom: propagationSource.toString()
    })
  })
}

function requireAutonat () {
  const access = node.services.autonatAddresses
  if (access == null) throw new Error('autonat not enabled: start peer.mjs with --autonat')
  return access.addressManager
}

function requirePubsub () {
  if (pubsub == null) throw new Error('pubsub not enabled: start peer.mjs with --pubsub')
  return pubsub
}

function requireTopic (cmd) {
  if (typeof cmd.topic !== 'string' || cmd.topic.length === 0) throw new Error('command needs "topic"')
  return cmd.topic
}

// ---------------------------------------------------------------- DHT (--dht)

async function loadDht () {
  const { kadDHT, passthroughMapper } = await import('@libp2p/kad-dht')
  const { CID } = await import('multiformats/cid')
  const raw = await import('multiformats/codecs/raw')
  const Digest = await import('multiformats/hashes/digest')
  return {
    CID,
    raw,
    Digest,
    service: kadDHT({
      // The public Amino protocol id (kad-dht's default); the LAN variant
      // /ipfs/lan/kad/1.0.0 is only used when configured.
      protocol: DHT_PROTOCOL,
      // Without an explicit false kad-dht 16 starts in client mode and only turns
      // server when identify/autonat report a public (non-private) address of
      // ours, which never happens on 127.0.0.1.
      clientMode: false,
      // The default (removePrivateAddressesMapper) drops 127.0.0.1 from every
      // peer it adds to the routing table and from every closer/provider peer it
      // answers with; a peer left without addresses is not added at all.
      peerInfoMapper: passthroughMapper,
      // kad-dht 16 ships a validator and selector for /pk/ only (no /ipns/);
      // ours are merged over those.
      validators: { test: async () => {} },
      selectors: { test: selectGreatest }
    })
  }
}

/** Selector for /test/ records: the greatest value by unsigned byte order (a longer value wins a tie on its prefix). */
function selectGreatest (key, records) {
  let best = 0
  for (let i = 1; i < records.length; i++) {
    if (compareBytes(records[i], records[best]) > 0) best = i
  }
  return best
}

function compareBytes (a, b) {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i]
  }
  return a.length - b.length
}

const dht = node.services.dht ?? null

// Outcome of kad-dht's self-lookups ('kad-dht:query:self' is dispatched on the
// node's event bus only when a self-lookup succeeded).
let lastSelfQuery = null
node.addEventListener('kad-dht:query:self', (evt) => {
  lastSelfQuery = { durationMs: evt.detail?.duration ?? null }
})
const firstSelfQuery = dht != null ? firstSelfQueryEnded(dht) : null

// kad-dht keeps a deferred promise (shared by its QuerySelf and QueryManager)
// that it resolves when its first self-lookup has ended, successfully or not;
// every other query waits for it. It is an internal field: if a later kad-dht
// drops it, fall back to the success event alone.
function firstSelfQueryEnded (dht) {
  const onEvent = new Promise((resolve) => {
    node.addEventListener('kad-dht:query:self', () => resolve(), { once: true })
  })
  const deferred = dht.querySelf?.initialQuerySelfHasRun
  if (deferred?.promise == null) {
    log('kad-dht has no querySelf.initialQuerySelfHasRun; awaitSelfQuery waits for a successful self-query only')
    return onEvent
  }
  return Promise.race([deferred.promise, onEvent])
}

function requireDht () {
  if (dht == null) throw new Error('DHT not enabled: start peer.mjs with --dht')
  return dht
}

function toBase64 (bytes) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

function fromBase64 (value, field) {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw new Error(`command needs "${field}": standard base64 with padding`)
  }
  return Uint8Array.from(Buffer.from(value, 'base64'))
}

/** The record key: "key" as a UTF-8 string (e.g. "/test/abc"), or "keyBase64" for binary keys. */
function requireRecordKey (cmd) {
  if (typeof cmd.key === 'string' && cmd.key.length > 0) return new TextEncoder().encode(cmd.key)
  if (cmd.keyBase64 != null) return fromBase64(cmd.keyBase64, 'keyBase64')
  throw new Error('command needs "key" (a string such as "/test/abc") or "keyBase64"')
}

/** "cid" (any CID string) or "multihash" (base64 multihash bytes, wrapped as a CIDv1 raw). */
function requireCid (cmd) {
  const { CID, raw, Digest } = dhtModule
  if (typeof cmd.cid === 'string' && cmd.cid.length > 0) {
    try {
      return CID.parse(cmd.cid)
    } catch (err) {
      throw new Error(`bad "cid" ${JSON.stringify(cmd.cid)}: ${errorText(err)}`)
    }
  }
  if (cmd.multihash != null) {
    const bytes = fromBase64(cmd.multihash, 'multihash')
    try {
      return CID.createV1(raw.code, Digest.decode(bytes))
    } catch (err) {
      throw new Error(`bad "multihash": ${errorText(err)}`)
    }
  }
  throw new Error('command needs "cid" (a CID string) or "multihash" (base64)')
}

function requirePeerId (cmd) {
  if (typeof cmd.peerId !== 'string' || cmd.peerId.length === 0) throw new Error('command needs "peerId"')
  try {
    return peerIdFromString(cmd.peerId)
  } catch (err) {
    throw new Error(`bad "peerId" ${JSON.stringify(cmd.peerId)}: ${errorText(err)}`)
  }
}

function peerInfoToJson (info) {
  return { peerId: info.id.toString(), addrs: [...new Set((info.multiaddrs ?? []).map(a => a.toString()))] }
}

function sameBytes (a, b) {
  return a.length === b.length && compareBytes(a, b) === 0
}

function pushError (errors, event) {
  if (errors.length < MAX_REPORTED_ERRORS) errors.push(`${event.from}: ${errorText(event.error)}`)
}

function rejectOnAbort (signal, message) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) reject(new Error(message()))
    signal.addEventListener('abort', () => reject(new Error(message())), { once: true })
  })
}

// Identify results, by connection id (for the identify command) and the latest
// per peer (for lastIdentify). Filled synchronously by the event listener.
const identifiedByConnection = new Map()
const identifiedByPeer = new Map()
let lastIdentified = null
const identifyWaiters = new Set()

node.addEventListener('peer:identify', (evt) => {
  const result = evt.detail
  const json = identifyToJson(result)
  const connId = result.connection?.id
  if (connId != null) identifiedByConnection.set(connId, json)
  identifiedByPeer.set(json.peerId, json)
  lastIdentified = json
  emit({ event: 'identified', ...json })
  for (const waiter of identifyWaiters) waiter(connId, json)
})

node.addEventListener('connection:close', (evt) => {
  identifiedByConnection.delete(evt.detail.id)
})

function waitForIdentify (connection, timeoutMs) {
  const known = identifiedByConnection.get(connection.id)
  if (known != null) return Promise.resolve(known)
  return new Promise((resolve, reject) => {
    const waiter = (connId, json) => {
      if (connId === connection.id) {
        cleanup()
        resolve(json)
      }
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`no identify result within ${timeoutMs} ms`))
    }, timeoutMs)
    const cleanup = () => {
      clearTimeout(timer)
      identifyWaiters.delete(waiter)
    }
    identifyWaiters.add(waiter)
  })
}

function requireAddr (cmd) {
  if (typeof cmd.addr !== 'string' || cmd.addr.length === 0) {
    throw new Error('command needs "addr": a multiaddr string')
  }
  return multiaddr(cmd.addr)
}

const handlers = {
  async ping (cmd, signal) {
    const rtt = await node.services.ping.ping(requireAddr(cmd), { signal })
    return { rttMs: rtt }
  },

  async identify (cmd, signal, timeoutMs) {
    const deadline = Date.now() + timeoutMs
    const connection = await node.dial(requireAddr(cmd), { signal })
    // identify runs by itself on every new connection (runOnConnectionOpen);
    // a second, explicit identify stream could be refused by the remote's
    // inbound stream limit, so wait for that automatic result first. If it
    // does not come (the remote failed it), run identify explicitly in the
    // time that is left so that the answer carries the real error.
    const left = () => Math.max(1, deadline - Date.now())
    try {
      return await waitForIdentify(connection, Math.ceil(left() * 0.6))
    } catch (err) {
      log(`automatic identify did not finish (${errorText(err)}); running it explicitly`)
      return identifyToJson(await node.services.identify.identify(connection, { signal: AbortSignal.timeout(left()) }))
    }
  },

  async peers () {
    const peers = new Map()
    for (const conn of node.getConnections()) {
      const id = conn.remotePeer.toString()
      if (!peers.has(id)) peers.set(id, [])
      peers.get(id).push(conn.remoteAddr.toString())
    }
    return { peers: [...peers].map(([peerId, addrs]) => ({ peerId, addrs })) }
  },

  async lastIdentify (cmd) {
    if (cmd.peerId != null) return { identified: identifiedByPeer.get(String(cmd.peerId)) ?? null }
    return { identified: lastIdentified }
  },

  async hangup (cmd) {
    if (typeof cmd.peerId !== 'string') throw new Error('command needs "peerId"')
    await node.hangUp(peerIdFromString(cmd.peerId))
    return {}
  },

  async dial (cmd, signal) {
    const connection = await node.dial(requireAddr(cmd), { signal })
    return { peerId: connection.remotePeer.toString(), remoteAddr: connection.remoteAddr.toString() }
  },

  async findPeer (cmd, signal) {
    const d = requireDht()
    const id = requirePeerId(cmd)
    for await (const event of d.findPeer(id, { signal, useCache: cmd.useCache === true })) {
      if (event.name === 'FINAL_PEER') {
        return { ...peerInfoToJson(event.peer), from: event.from.toString() }
      }
    }
    throw new Error(`peer ${id} not found`)
  },

  async put (cmd, signal) {
    const d = requireDht()
    const key = requireRecordKey(cmd)
    const value = fromBase64(cmd.value, 'value')
    const storedAt = new Set()
    const errors = []
    for await (const event of d.put(key, value, { signal })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') {
        if (event.record != null && sameBytes(event.record.value, value)) storedAt.add(event.from.toString())
      } else if (event.name === 'QUERY_ERROR') {
        pushError(errors, event)
      }
    }
    return { storedAt: [...storedAt], errors }
  },

  async get (cmd, signal) {
    const d = requireDht()
    const key = requireRecordKey(cmd)
    for await (const event of d.get(key, { signal })) {
      if (event.name === 'VALUE') {
        return { value: toBase64(event.value), from: event.from.toString() }
      }
    }
    throw new Error(`no value found for key ${JSON.stringify(cmd.key ?? cmd.keyBase64)}`)
  },

  async provide (cmd, signal) {
    const d = requireDht()
    const cid = requireCid(cmd)
    const sentTo = new Set()
    const errors = []
    for await (const event of d.provide(cid, { signal })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'ADD_PROVIDER') {
        sentTo.add(event.from.toString())
      } else if (event.name === 'QUERY_ERROR') {
        pushError(errors, event)
      }
    }
    return { cid: cid.toString(), sentTo: [...sentTo], errors }
  },

  async findProviders (cmd, signal) {
    const d = requireDht()
    const cid = requireCid(cmd)
    const count = Number.isInteger(cmd.count) && cmd.count > 0 ? cmd.count : 20
    const providers = new Map()
    for await (const event of d.findProviders(cid, { signal })) {
      if (event.name !== 'PROVIDER') continue
      for (const peer of event.providers) {
        const id = peer.id.toString()
        if (!providers.has(id)) providers.set(id, { ...peerInfoToJson(peer), from: event.from.toString() })
      }
      if (providers.size >= count) break
    }
    return { providers: [...providers.values()] }
  },

  async routingTable () {
    const d = requireDht()
    const peers = []
    for (const entry of d.routingTable.kb.toIterable()) {
      if (entry.peerId.equals(node.peerId)) continue
      let addrs = []
      try {
        addrs = [...new Set((await node.peerStore.get(entry.peerId)).addresses.map(a => a.multiaddr.toString()))]
      } catch (err) {
        if (err.name !== 'NotFoundError') throw err
      }
      peers.push({ peerId: entry.peerId.toString(), addrs })
    }
    return { mode: d.getMode(), size: d.routingTable.size, peers }
  },

  async awaitSelfQuery (cmd, signal, timeoutMs) {
    const d = requireDht()
    await Promise.race([
      firstSelfQuery,
      rejectOnAbort(signal, () => `first self-query did not end within ${timeoutMs} ms ` +
        `(routing table size ${d.routingTable.size}; it starts only once the table has a peer)`)
    ])
    return {
      succeeded: lastSelfQuery != null,
      durationMs: lastSelfQuery?.durationMs ?? null,
      routingTableSize: d.routingTable.size
    }
  },

  async subscribe (cmd) {
    requirePubsub().subscribe(requireTopic(cmd))
    return {}
  },

  async publish (cmd) {
    const ps = requirePubsub()
    const result = await ps.publish(requireTopic(cmd), fromBase64(cmd.data ?? '', 'data'))
    return { recipients: result.recipients.map(p => p.toString()) }
  },

  async received (cmd) {
    requirePubsub()
    const topic = cmd.topic
    return { messages: receivedMessages.filter(m => topic == null || m.topic === topic) }
  },

  async topicPeers (cmd) {
    const ps = requirePubsub()
    const topic = requireTopic(cmd)
    return {
      peers: ps.getSubscribers(topic).map(p => p.toString()),
      mesh: ps.getMeshPeers(topic).map(p => p.toString())
    }
  },

  // ---- Circuit Relay v2 (relay branch)
  async relayReservations () {
    const relay = node.services.relay
    if (relay == null) throw new Error('relay server not enabled: start peer.mjs with --relay-server')
    return { reservations: [...relay.reservations.keys()].map(p => p.toString()) }
  },
  // ---- end relay
  // ------------------------------------------------------------ AutoNAT (--autonat)

  async mapPublicAddress (cmd) {
    const am = requireAutonat()
    if (typeof cmd.ip !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}$/.test(cmd.ip)) throw new Error('command needs "ip": an IPv4 address')
    const mapped = []
    for (const ma of node.getMultiaddrs()) {
      const m = /^\/ip4\/127\.0\.0\.1\/udp\/(\d+)\//.exec(ma.toString())
      if (m == null) continue
      const port = Number(m[1])
      am.addPublicAddressMapping('127.0.0.1', port, cmd.ip, port, 'udp')
      mapped.push(`/ip4/${cmd.ip}/udp/${port}`)
    }
    if (mapped.length === 0) throw new Error('no /ip4/127.0.0.1/udp listen address to map')
    return { mapped }
  },

  async addressInfo () {
    const am = requireAutonat()
    return {
      addresses: am.getAddressesWithMetadata().map(a => ({
        addr: a.multiaddr.toString(),
        type: a.type,
        verified: a.verified,
        expires: Number.isFinite(a.expires) ? a.expires : null
      }))
    }
  },

  async quit () {
    setImmediate(() => { shutdown(0) })
    return {}
  }
}

async function handleLine (line) {
  if (line.trim().length === 0) return
  let cmd
  try {
    if (line.length > MAX_LINE_CHARS) throw new Error(`command line longer than ${MAX_LINE_CHARS} chars`)
    cmd = JSON.parse(line)
    if (cmd == null || typeof cmd !== 'object' || Array.isArray(cmd)) throw new Error('command must be a JSON object')
  } catch (err) {
    emit({ ok: false, error: `bad command line: ${errorText(err)}` })
    return
  }
  const idPart = cmd.id !== undefined ? { id: cmd.id } : {}
  const handler = Object.hasOwn(handlers, cmd.cmd) ? handlers[cmd.cmd] : null
  if (handler == null) {
    emit({ ...idPart, ok: false, error: `unknown cmd ${JSON.stringify(cmd.cmd)}; known: ${Object.keys(handlers).join(', ')}` })
    return
  }
  const timeoutMs = Number.isInteger(cmd.timeoutMs) && cmd.timeoutMs > 0 ? cmd.timeoutMs : DEFAULT_TIMEOUT_MS
  try {
    const result = await handler(cmd, AbortSignal.timeout(timeoutMs), timeoutMs)
    emit({ ...idPart, ok: true, ...result })
  } catch (err) {
    log(`${cmd.cmd} failed:`, err)
    emit({ ...idPart, ok: false, error: errorText(err) })
  }
}

let stopping = false
async function shutdown (code) {
  if (stopping) return
  stopping = true
  const force = setTimeout(() => {
    log('stop took too long; exiting')
    process.exit(code)
  }, 5_000)
  force.unref()
  try {
    await node.stop()
  } catch (err) {
    log('error while stopping:', err)
  }
  // stdout is a pipe: make sure every answer has been flushed before exiting.
  process.stdout.write('', () => process.exit(code))
}

process.on('SIGTERM', () => { shutdown(0) })
process.on('SIGINT', () => { shutdown(0) })
process.on('unhandledRejection', (err) => { log('unhandled rejection:', err) })
process.stdout.on('error', (err) => {
  // The reader went away (EPIPE): nobody is listening any more.
  log('stdout error:', errorText(err))
  shutdown(0)
})

emit({
  event: 'ready',
  peerId: node.peerId.toString(),
  addrs: node.getMultiaddrs().map(a => a.toString()),
  ...(dht != null ? { dht: dht.isStarted(), dhtMode: dht.getMode(), dhtProtocol: DHT_PROTOCOL } : {}),
  ...(pubsub != null ? { pubsub: true } : {}),
  ...(autonatModule != null ? { autonat: true } : {})
})
log(`ready as ${node.peerId} on ${node.getMultiaddrs().join(' ')}`)

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false })
rl.on('line', (line) => { handleLine(line) })
rl.on('close', () => {
  log('stdin closed; stopping')
  shutdown(0)
})
