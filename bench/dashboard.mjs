// Prints the dashboard's figures (issue: first load ≤ 250 KB gzip; time to
// interactive on the sites list with 200 sites ≤ 1 s, local), measured in
// Chromium against the real binary with a seeded data directory:
//   cd web && npm ci && node ../bench/dashboard.mjs
import { launchBrowser, startControlPlane } from '../web/tests/browser/harness.mjs'
import { login } from '../web/tests/browser/pages.mjs'

const RUNS = 5
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const cp = await startControlPlane({ sites: 200, port: Number(process.env.PORT ?? 18320) })
const browser = await launchBrowser()
try {
  // A signed-in session, reused by every fresh (cold-cache) context.
  const first = await browser.newContext()
  await login(await first.newPage(), cp.base, cp.fixture.admin_email, cp.fixture.admin_password)
  const storageState = await first.storageState()
  await first.close()

  const loads = []
  const tti = []
  const filled = []
  for (let i = 0; i < RUNS; i++) {
    const ctx = await browser.newContext({ storageState, viewport: { width: 1440, height: 900 } })
    const page = await ctx.newPage()
    // Timed in the page: when the 200th row is in the DOM, then when the main
    // thread is free again (the next frame and task after it).
    await page.addInitScript(() => {
      new MutationObserver((_, obs) => {
        if (document.querySelectorAll('[data-testid="sites-table"] tbody tr').length < 200) return
        obs.disconnect()
        requestAnimationFrame(() => setTimeout(() => { window.__interactive = performance.now() }, 0))
      }).observe(document, { childList: true, subtree: true })
    })
    const responses = []
    page.on('response', (r) => responses.push(r))
    await page.goto(`${cp.base}/sites`)
    await page.locator('[data-testid="sites-table"] tbody tr').nth(199).waitFor()
    // Interactive: the rows are drawn and the main thread answers the next frame.
    await page.waitForFunction(() => window.__interactive)
    tti.push(await page.evaluate(() => window.__interactive))
    await page.waitForFunction(() => !document.querySelector('[data-testid="sites-table"] [data-loading]'), null, { timeout: 60000 })
    filled.push(await page.evaluate(() => performance.now()))
    await page.waitForLoadState('networkidle')
    let assets = 0
    let api = 0
    for (const r of responses) {
      const s = await r.request().sizes()
      const bytes = s.responseBodySize + s.responseHeadersSize
      if (new URL(r.url()).pathname.startsWith('/api/')) api += bytes
      else assets += bytes
    }
    loads.push({ assets, api })
    await ctx.close()
  }
  const kb = (b) => `${(b / 1024).toFixed(1)} KB`
  console.log(`dashboard first load, all assets (gzip, cold cache): ${kb(median(loads.map((l) => l.assets)))} (goal ≤ 250 KB)`)
  console.log(`dashboard first load, API answers for the sites list with 200 sites: ${kb(median(loads.map((l) => l.api)))}`)
  console.log(`time to interactive, sites list with 200 sites (median of ${RUNS}): ${Math.round(median(tti))} ms (goal ≤ 1000 ms)`)
  console.log(`every site's environments filled in (median of ${RUNS}): ${Math.round(median(filled))} ms`)
} finally {
  await browser.close()
  await cp.stop()
}
