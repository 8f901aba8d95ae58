#!/usr/bin/env node
// Starts a throwaway Bluesky network (PLC + PDS + AppView + Ozone) from @atproto/dev-env on 127.0.0.1.
//
// Protocol with the caller (tests/peers/bluesky.py):
//   * stdout: exactly one JSON line once everything is up:
//       {"peer": "bluesky", "pds": ..., "bsky": ..., "plc": ..., "ozone": ..., "control": ..., "schema": ...}
//     Nothing else is written to stdout; diagnostics go to stderr.
//   * POST <control>/process-all runs network.processAll(): it returns once the AppView has indexed
//     everything the PDS has sequenced so far (likes, reposts, follows...). 200 {"ok": true} or 500.
//   * The network shuts down (servers closed, Postgres schemas dropped, data dirs removed) when stdin
//     closes or on SIGTERM / SIGINT.
//
// Environment (all optional):
//   DB_POSTGRES_URL  Postgres for the AppView and Ozone (default postgres://postgres@127.0.0.1:5432/test)
//   REDIS_HOST       asserted by dev-env but unused by this version (default 127.0.0.1:6379)
//   LOG_ENABLED, LOG_LEVEL, LOG_DESTINATION  atproto's pino logs (default: errors, to stderr)
//   BLUESKY_PEER_HOST  interface to bind (default 127.0.0.1)

import { randomBytes } from 'node:crypto'
import dns from 'node:dns'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

const HOST = process.env.BLUESKY_PEER_HOST || '127.0.0.1'
const PG_URL = process.env.DB_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test'
process.env.REDIS_HOST ||= '127.0.0.1:6379'
// Server-side errors (e.g. the PDS answers a duplicate rkey with a bare 500 and logs the reason)
// go to stderr, which the test fixture shows when something fails. Read once, when
// @atproto/common is loaded, hence before the require() below.
process.env.LOG_ENABLED ||= 'true'
process.env.LOG_LEVEL ||= 'error'
process.env.LOG_DESTINATION ||= '/dev/stderr'

const log = (...args) => console.error('[bluesky-peer]', ...args)

// dev-env calls `app.listen(port)` with no host, i.e. every interface. Default a missing host to
// HOST for every TCP listener created in this process (express, http2 dataplane, websockets).
const originalListen = net.Server.prototype.listen
net.Server.prototype.listen = function listen(...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') {
    args.splice(1, 0, HOST)
  } else if (args[0] && typeof args[0] === 'object' && args[0].port !== undefined && !args[0].host) {
    args[0] = { ...args[0], host: HOST }
  }
  return originalListen.apply(this, args)
}
// dev-env builds every URL with "localhost"; on hosts where localhost resolves to ::1 first, the
// services would not reach each other on a 127.0.0.1-only listener.
dns.setDefaultResultOrder('ipv4first')

// The PDS puts its actor stores and blobs under os.tmpdir(), which reads TMPDIR on every call.
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chorus-bluesky-'))
process.env.TMPDIR = dataDir

// dev-env prefixes this with "appview_" and "ozone_"; Postgres identifiers, so letters and "_" only.
const schema = `chorus_peer_${Array.from(randomBytes(8), (b) => String.fromCharCode(97 + (b % 26))).join('')}`

const require = createRequire(import.meta.url)
const { TestNetwork } = require('@atproto/dev-env')

/** @type {import('@atproto/dev-env').TestNetwork | undefined} */
let network
/** @type {http.Server | undefined} */
let control
let shuttingDown = false

async function dropSchemas() {
  // `pg` is not a top-level dependency: resolve it the way @atproto/bsky does.
  const bskyRequire = createRequire(require.resolve('@atproto/bsky'))
  const { Client } = bskyRequire('pg')
  const client = new Client({ connectionString: PG_URL })
  await client.connect()
  try {
    for (const prefix of ['appview_', 'ozone_']) {
      await client.query(`DROP SCHEMA IF EXISTS "${prefix}${schema}" CASCADE`)
    }
  } finally {
    await client.end()
  }
}

async function shutdown(reason, exitCode = 0) {
  if (shuttingDown) return
  shuttingDown = true
  log(`shutting down (${reason})`)
  let code = exitCode
  try {
    control?.close()
    // Ozone and the AppView are not closed by TestNetworkNoAppView.close(); TestNetwork.close() does both.
    await network?.close()
  } catch (err) {
    log('error while closing the network:', err)
    code = 1
  }
  try {
    await dropSchemas()
  } catch (err) {
    log('error while dropping schemas:', err)
    code = 1
  }
  rmSync(dataDir, { recursive: true, force: true })
  process.exit(code)
}

// A stop request during start-up waits for TestNetwork.create() to finish: dropping the schemas
// while its migrations still run would leave them half-created behind us.
let starting = true
let stopRequested = ''
function requestShutdown(reason) {
  if (starting) {
    stopRequested ||= reason
    log(`stop requested (${reason}); will shut down once started`)
  } else {
    void shutdown(reason)
  }
}

process.on('SIGTERM', () => requestShutdown('SIGTERM'))
process.on('SIGINT', () => requestShutdown('SIGINT'))
process.stdin.on('end', () => requestShutdown('stdin closed'))
process.stdin.on('error', () => requestShutdown('stdin error'))
process.stdout.on('error', () => requestShutdown('stdout closed'))
process.stdin.resume()

/** Serves POST /process-all on HOST at a free port; resolves to its base URL. */
function startControl(net_) {
  control = http.createServer((req, res) => {
    const reply = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (req.method !== 'POST' || req.url !== '/process-all') {
      reply(404, { ok: false, error: 'only POST /process-all' })
      return
    }
    req.resume()
    net_.processAll().then(
      () => reply(200, { ok: true }),
      (err) => reply(500, { ok: false, error: String(err?.stack || err) }),
    )
  })
  return new Promise((resolve) => {
    control.listen(0, HOST, () => resolve(`http://${HOST}:${control.address().port}`))
  })
}

const localUrl = (url) => url.replace('://localhost:', `://${HOST}:`)

try {
  const started = Date.now()
  network = await TestNetwork.create({ dbPostgresUrl: PG_URL, dbPostgresSchema: schema })
  const controlUrl = await startControl(network)
  starting = false
  if (stopRequested) {
    await shutdown(stopRequested)
  } else {
    const ready = {
      peer: 'bluesky',
      pds: localUrl(network.pds.url),
      bsky: localUrl(network.bsky.url),
      bskyDid: network.bsky.serverDid,
      plc: localUrl(network.plc.url),
      ozone: localUrl(network.ozone.url),
      control: controlUrl,
      schema,
      startupSeconds: (Date.now() - started) / 1000,
    }
    process.stdout.write(`${JSON.stringify(ready)}\n`)
  }
} catch (err) {
  starting = false
  log('failed to start:', err)
  await shutdown('start-up failure', 1)
}
