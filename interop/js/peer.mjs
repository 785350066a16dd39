#!/usr/bin/env node
// An independent js-libp2p peer (QUIC v1 + libp2p TLS, ping, identify) that
// Peersocket's Java interop tests drive over JSON lines.
//
//   node peer.mjs [--seed HEX32] [--listen MULTIADDR] [--agent STRING]
//
// stdout carries only JSON lines (one object per line):
//   first   {"event":"ready","peerId":"12D3…","addrs":["/ip4/127.0.0.1/udp/N/quic-v1/p2p/12D3…"]}
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
//   {"cmd":"quit"}                    -> {"ok":true}, then stops and exits 0
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
  const opts = { seed: null, listen: '/ip4/127.0.0.1/udp/0/quic-v1', agent: null }
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
    } else {
      fail(`unknown argument ${arg}; usage: node peer.mjs [--seed HEX32] [--listen MULTIADDR] [--agent STRING]`)
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

const node = await createLibp2p({
  privateKey,
  addresses: { listen: [opts.listen] },
  transports: [quic()],
  ...(opts.agent != null ? { nodeInfo: { userAgent: opts.agent } } : {}),
  services: {
    identify: identify(),
    ping: ping()
  }
})

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
  addrs: node.getMultiaddrs().map(a => a.toString())
})
log(`ready as ${node.peerId} on ${node.getMultiaddrs().join(' ')}`)

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false })
rl.on('line', (line) => { handleLine(line) })
rl.on('close', () => {
  log('stdin closed; stopping')
  shutdown(0)
})
