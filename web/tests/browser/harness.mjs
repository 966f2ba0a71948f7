// Starts the real control plane binary on a fresh data directory, seeds the
// fixture and opens Debian's Chromium through playwright-core.
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const web = fileURLToPath(new URL('../..', import.meta.url))
export const artifacts = join(web, 'test-results')

export const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run']

export function launchBrowser() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
}

function build(pkg, out) {
  execFileSync('go', ['build', '-o', out, pkg], { cwd: join(web, '..'), stdio: 'inherit' })
}

async function waitHealthy(base, proc) {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`the control plane exited with ${proc.exitCode}`)
    try {
      const r = await fetch(`${base}/api/health`)
      if (r.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('the control plane did not become healthy')
}

/** A running control plane with the fixture: {base, fixture, stop()}. */
export async function startControlPlane({ sites = 3, port = Number(process.env.PORT ?? 18310) } = {}) {
  const bin = join(web, '.test')
  mkdirSync(bin, { recursive: true })
  const server = process.env.PRESSLUFT_BIN ?? join(bin, 'pressluft')
  if (!process.env.PRESSLUFT_BIN) build('./cmd/pressluft', server)
  build('./web/internal/seed', join(bin, 'seed'))
  const data = mkdtempSync(join(tmpdir(), 'pressluft-web-'))
  const base = `http://127.0.0.1:${port}`
  const proc = spawn(server, ['serve', '--data-dir', data, '--listen', `127.0.0.1:${port}`, '--probe-interval', '24h', '--workers', '2'],
    { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  proc.stderr.on('data', (d) => { log = (log + d).slice(-20000) })
  try {
    await waitHealthy(base, proc)
    // Seeded after the first node probe, so the fixture's states stay as written.
    const out = execFileSync(join(bin, 'seed'), ['-data-dir', data, '-sites', String(sites)], { encoding: 'utf8' })
    const fixture = JSON.parse(out)
    return {
      base,
      fixture,
      log: () => log,
      async stop() {
        proc.kill('SIGTERM')
        await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)))
        rmSync(data, { recursive: true, force: true })
      },
    }
  } catch (err) {
    proc.kill('SIGTERM')
    await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)))
    rmSync(data, { recursive: true, force: true })
    throw new Error(`${err.message}\n${log}`)
  }
}

export function screenshotPath(name, width, height) {
  const dir = join(artifacts, 'screenshots')
  mkdirSync(dir, { recursive: true })
  return join(dir, `${name}-${width}x${height}.png`)
}

