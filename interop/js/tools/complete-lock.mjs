// Adds lock entries for the platform binaries of @chainsafe/libp2p-quic that the
// registry reachable from the build machine does not serve (only linux-x64-gnu
// is served there). Without them `npm ci` refuses the lock as "out of sync".
// The entries carry os/cpu/libc so npm skips them on non-matching platforms;
// they have no integrity, so on such a platform npm fetches by name@version.
// Run after `npm install` whenever package-lock.json is regenerated:
//   node tools/complete-lock.mjs
import { readFileSync, writeFileSync } from 'node:fs'

const lockPath = new URL('../package-lock.json', import.meta.url)
const lock = JSON.parse(readFileSync(lockPath, 'utf8'))
const quic = lock.packages['node_modules/@chainsafe/libp2p-quic']
if (quic == null) throw new Error('@chainsafe/libp2p-quic missing from package-lock.json')

const platforms = {
  'darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'linux-arm64-musl': { os: ['linux'], cpu: ['arm64'], libc: ['musl'] },
  'linux-x64-gnu': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
  'linux-x64-musl': { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
  'win32-x64-msvc': { os: ['win32'], cpu: ['x64'] }
}

let added = 0
for (const [name, version] of Object.entries(quic.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`
  if (lock.packages[key] != null) continue
  const suffix = name.replace('@chainsafe/libp2p-quic-', '')
  const platform = platforms[suffix]
  if (platform == null) throw new Error(`unknown platform package ${name}`)
  lock.packages[key] = {
    version,
    ...(platform.cpu ? { cpu: platform.cpu } : {}),
    ...(platform.libc ? { libc: platform.libc } : {}),
    license: 'MIT',
    optional: true,
    os: platform.os,
    engines: { node: '>= 10' }
  }
  added++
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => a.localeCompare(b)))
writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n')
console.error(`complete-lock: added ${added} platform entries`)
