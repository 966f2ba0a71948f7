// The dashboard in Chromium against the real control plane binary: every
// page, every form with good and bad input, live job progress, cancel,
// tokens, logout and session expiry. Flows that need a real node are in
// node-flows.e2e.mjs (run by make e2e).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { launchBrowser, screenshotPath, startControlPlane } from './harness.mjs'
import { axe, guard, login } from './pages.mjs'
import { promotionSuite } from './promotion.mjs'

let cp, browser, ctx, page, g, fx

before(async () => {
  cp = await startControlPlane()
  fx = cp.fixture
  browser = await launchBrowser()
  ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } })
  page = await ctx.newPage()
  g = guard(page)
})

after(async () => {
  await browser?.close()
  await cp?.stop()
})

const byTestId = (id) => page.locator(`[data-testid="${id}"]`)

/** Waits until the summary strip's figure equals the server's current one. */
async function stripMatches(label, pick) {
  let shown, want
  for (let i = 0; i < 50; i++) {
    want = pick(await (await page.request.get(`${cp.base}/api/metrics`)).json())
    shown = Number(await page.locator('.metrics .metric', { hasText: label }).locator('.metric-value').textContent())
    if (shown === want) return
    await page.waitForTimeout(200)
  }
  assert.equal(shown, want, `the summary strip's ${label}`)
}

describe('login', () => {
  it('refuses a wrong password and names the problem', async () => {
    await page.goto(`${cp.base}/sites`)
    await page.waitForURL(/\/login\?next=(%2F|\/)sites/)
    await page.getByLabel('E-mail').fill(fx.admin_email)
    await page.getByLabel('Password').fill('wrong horse')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').filter({ hasText: /e-mail or password/i }).waitFor()
    assert.match(page.url(), /\/login/)
  })

  it('signs in and returns to the page asked for', async () => {
    await page.getByLabel('Password').fill(fx.admin_password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`${cp.base}/sites`)
    await page.getByRole('heading', { name: 'Sites', level: 1 }).waitFor()
    g.check('login')
  })

  it('shows the running version', async () => {
    const health = await (await fetch(`${cp.base}/api/health`)).json()
    assert.ok(health.version, 'the health answer carries a version')
    await page.locator('[data-testid="version"]', { hasText: health.version }).waitFor()
  })
})

describe('sites', () => {
  it('lists each site with status, production URL, node, environments and last job', async () => {
    await page.goto(`${cp.base}/sites`)
    const row = page.locator('[data-testid="sites-table"] tbody tr', { hasText: 'Acme Shop' })
    await row.getByRole('link', { name: /sslip\.io/ }).waitFor()
    await row.getByText('active').first().waitFor()
    await row.getByRole('link', { name: 'web-1' }).waitFor()
    await row.getByText('staging').waitFor()
    await row.getByRole('link', { name: 'Create environment' }).waitFor()
    assert.equal(await page.locator('[data-testid="sites-table"] tbody tr').count(), 3)
  })

  it('reports a bad slug on its field and clears it once the field changes', async () => {
    await page.getByLabel('Name', { exact: true }).fill('Shop Two')
    await page.getByLabel('Slug').fill('2bad')
    await page.getByRole('button', { name: 'Create site' }).click()
    const err = page.locator('[data-field="slug"] .field-error')
    await err.waitFor()
    const text = await err.textContent()
    assert.match(text, /^Slug /, 'the message names the field by its label')
    assert.equal(await page.getByLabel('Slug').getAttribute('aria-invalid'), 'true')
    await page.getByLabel('Slug').fill('shoptwo')
    await err.waitFor({ state: 'detached' })
  })

  it('creates a site and shows the admin password once', async () => {
    await page.getByRole('button', { name: 'Create site' }).click()
    const panel = page.locator('#credentials')
    await panel.getByText('Save this password now.').waitFor()
    const password = await panel.locator('.secret-value').nth(1).textContent()
    assert.equal(password.length, 24)
    await page.getByRole('status').filter({ hasText: 'Creating site Shop Two.' }).waitFor()
    await page.locator('[data-testid="sites-table"] tbody tr', { hasText: 'Shop Two' }).waitFor()
    await panel.getByRole('button', { name: 'I have saved the password' }).click()
    await panel.waitFor({ state: 'detached' })
  })

  it('lets notices be dismissed', async () => {
    const notices = page.locator('.notices .notice')
    const before = await notices.count()
    assert.ok(before > 0)
    await notices.first().getByRole('button', { name: 'Dismiss notice' }).click()
    assert.equal(await notices.count(), before - 1)
  })

  it('keeps the summary strip current after a create', async () => {
    await page.locator('.metrics .metric', { hasText: 'sites' }).first().locator('.metric-value', { hasText: '4' }).waitFor()
  })

  it('shows every environment of a site with its URL and actions', async () => {
    await page.goto(`${cp.base}/sites/${fx.site}`)
    await page.getByRole('heading', { name: /Acme Shop/, level: 1 }).waitFor()
    assert.equal(await page.title(), 'Acme Shop · Pressluft')
    const staging = page.locator('[data-env="staging"]')
    await staging.getByRole('link', { name: /sslip\.io/ }).waitFor()
    await staging.getByRole('button', { name: 'Delete Staging' }).waitFor()
    await page.locator('[data-env="production"]').getByRole('link', { name: /sslip\.io/ }).waitFor()
  })

  it('validates the staging form and creates a staging copy', async () => {
    const form = page.locator('form', { has: page.getByRole('button', { name: 'Create environment' }) })
    await form.getByLabel('Name').fill('QA')
    await form.getByLabel('Slug').fill('staging')
    await form.getByRole('button', { name: 'Create environment' }).click()
    const err = form.locator('[data-field="slug"] .field-error')
    await err.waitFor()
    await form.getByLabel('Slug').fill('qa')
    await err.waitFor({ state: 'detached' })
    await form.getByRole('button', { name: 'Create environment' }).click()
    await page.getByRole('status').filter({ hasText: 'Creating staging QA.' }).waitFor()
    await page.locator('[data-env="qa"]').waitFor()
  })

  it('offers no staging form on a site with nothing to copy from', async () => {
    await page.goto(`${cp.base}/sites`)
    await page.getByRole('link', { name: 'Shop Two' }).click()
    await page.getByRole('heading', { name: /Shop Two/, level: 1 }).waitFor()
    await page.getByText('A copy needs an active environment to copy from.').waitFor()
    assert.equal(await page.getByRole('button', { name: 'Create environment' }).count(), 0)
  })

  it('says "not found" for a malformed or unknown id', async () => {
    for (const [path, heading] of [['/sites/not-an-id', 'Site not found'], ['/nodes/123', 'Node not found'],
      ['/jobs/00000000-0000-7000-8000-000000000000', 'Job not found'], ['/no/such/page', 'Page not found']]) {
      await page.goto(`${cp.base}${path}`)
      await page.getByRole('heading', { name: heading }).waitFor()
    }
  })
})

describe('nodes', () => {
  it('hides decommissioned nodes unless asked and shows errors in full', async () => {
    await page.goto(`${cp.base}/nodes`)
    const table = byTestId('nodes-table')
    await table.getByRole('link', { name: 'web-1' }).waitFor()
    assert.equal(await table.getByRole('link', { name: 'old-box' }).count(), 0)
    await page.getByText(/check the firewall and that sshd runs\)$/).waitFor()
    await page.getByLabel(/Show 1 decommissioned node/).check()
    await table.getByRole('link', { name: 'old-box' }).waitFor()
    await page.locator('.metrics .metric', { hasText: /^\s*2\s*nodes$/ }).waitFor()
  })

  it('draws input borders with at least 3:1 contrast', async () => {
    const ratio = await page.getByLabel('Host').evaluate((el) => {
      const rgb = (c) => c.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number)
      const lum = ([r, g, b]) => {
        const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4 }
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)
      }
      let bgEl = el.parentElement
      while (bgEl && getComputedStyle(bgEl).backgroundColor === 'rgba(0, 0, 0, 0)') bgEl = bgEl.parentElement
      const a = lum(rgb(getComputedStyle(el).borderTopColor))
      const b = lum(rgb(getComputedStyle(bgEl ?? document.body).backgroundColor))
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)
    })
    assert.ok(ratio >= 3, `input border contrast ${ratio.toFixed(2)}:1`)
  })

  it('validates the add form and adds a node', async () => {
    const form = page.locator('form', { has: page.getByRole('button', { name: 'Add node' }) })
    await form.getByLabel('Name').fill('web-3')
    await form.getByLabel('Host').fill('not a host!')
    await form.getByRole('button', { name: 'Add node' }).click()
    const err = form.locator('[data-field="host"] .field-error')
    await err.waitFor()
    assert.match(await err.textContent(), /^Host /)
    await form.getByLabel('Host').fill('127.0.0.9')
    await err.waitFor({ state: 'detached' })
    await form.getByRole('button', { name: 'Add node' }).click()
    await byTestId('nodes-table').getByRole('link', { name: 'web-3' }).waitFor()
  })

  it('follows a connection test live until it fails', async () => {
    await byTestId('nodes-table').getByRole('link', { name: 'web-3' }).click()
    await page.getByRole('heading', { name: /web-3/, level: 1 }).waitFor()
    assert.equal(await page.title(), 'web-3 · Pressluft')
    await page.getByRole('button', { name: 'Test connection' }).click()
    const notice = page.getByRole('status').filter({ hasText: 'Testing the connection to web-3.' })
    await notice.getByRole('link', { name: /View job/ }).click()
    await page.getByRole('heading', { name: /Test node connection/, level: 1 }).waitFor()
    // The stream brings the end of the job without a reload.
    await page.locator('h1 .badge', { hasText: 'failed' }).waitFor({ timeout: 60000 })
    await page.locator('.events .event').first().waitFor()
    await byTestId('job-problem').waitFor()
    const problem = await byTestId('job-problem').textContent()
    assert.doesNotMatch(problem, /node_unreachable|ssh_auth_failed/, 'the error is told in words, not as a code')
  })
})

describe('nodes that are gone', () => {
  it('offers Forget… instead of Delete on an unreachable node', async () => {
    await page.goto(`${cp.base}/nodes/${fx.broken_node}`)
    await page.getByRole('heading', { name: /db-2/, level: 1 }).waitFor()
    await page.getByRole('button', { name: 'Forget…' }).waitFor()
    assert.equal(await page.getByRole('button', { name: 'Delete node' }).count(), 0)
  })
})

describe('jobs', () => {
  it('shows the whole run time of a retried job and its result in words', async () => {
    await page.goto(`${cp.base}/jobs/${fx.retried_job}`)
    await page.getByRole('heading', { name: /Create environment/, level: 1 }).waitFor()
    assert.equal(await byTestId('job-duration').textContent(), '1 min 15 s')
    const result = byTestId('job-result')
    await result.getByText('3 values could not be parsed and may still point at the source.').waitFor()
    await result.getByText('1841 values').waitFor()
    assert.equal(await byTestId('job-problem').count(), 0)
  })

  it('filters by the types the server lists, and shows a type given in the URL', async () => {
    await page.goto(`${cp.base}/jobs?type=node_check`)
    const type = page.getByLabel('Type')
    assert.equal(await type.inputValue(), 'node_check')
    const options = await type.locator('option').evaluateAll((os) => os.map((o) => o.value))
    for (const t of ['node_provision', 'node_check', 'site_create', 'env_create', 'env_delete', 'site_delete', 'backup_create', 'env_restore']) assert.ok(options.includes(t), t)
    await page.locator('tbody tr').first().waitFor()
    for (const t of await page.locator('tbody tr td:first-child').allTextContents()) assert.equal(t, 'Test node connection')
    await type.selectOption('site_create')
    await page.waitForURL(/type=site_create/)
  })

  it('shows a job waiting to retry as a warning, not an error, and cancels it', async () => {
    await page.goto(`${cp.base}/nodes/${fx.broken_node}`)
    await page.getByRole('button', { name: 'Provision' }).click()
    await page.getByRole('status').filter({ hasText: 'Provisioning db-2.' }).getByRole('link', { name: /View job/ }).click()
    await page.locator('h1 .badge', { hasText: 'waiting to retry' }).waitFor({ timeout: 60000 })
    assert.equal(await page.getByRole('alert').count(), 0, 'no error box while the job waits to retry')
    await byTestId('job-problem').getByText(/Attempt 1 of \d+ failed/).waitFor()
    await page.getByRole('button', { name: 'Cancel job' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click()
    await page.locator('h1 .badge', { hasText: 'cancelled' }).waitFor()
    await stripMatches('jobs queued', (m) => m.jobs.queued)
  })
})

describe('forget', () => {
  it('forgets a node that is gone after its name is typed, and shows what may remain', async () => {
    await page.goto(`${cp.base}/nodes/${fx.broken_node}`)
    await page.getByRole('heading', { name: /db-2/, level: 1 }).waitFor()
    await page.getByRole('button', { name: 'Forget…' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByText(/nothing can be removed there/).waitFor()
    await dialog.getByText(/queued jobs are cancelled/).waitFor()
    const confirm = dialog.getByRole('button', { name: 'Forget node' })
    assert.equal(await confirm.isDisabled(), true, 'the button waits for the typed name')
    await dialog.getByLabel(/Type/).fill('db-')
    assert.equal(await confirm.isDisabled(), true)
    await dialog.getByLabel(/Type/).fill('db-2')
    await confirm.click()
    const result = byTestId('forget-result')
    await result.getByText(/Nothing on the node was touched/).waitFor()
    await page.locator('h1 .badge', { hasText: 'decommissioned' }).waitFor()
    await page.screenshot({ path: screenshotPath('node-forgotten', 1440, 900), fullPage: true })
    const audit = await (await page.request.get(`${cp.base}/api/audit?action=node.forget`)).json()
    assert.equal(audit.items[0].resource_id, fx.broken_node)
    assert.equal(audit.items[0].result, 'success')
    await result.getByRole('button', { name: 'Done' }).click()
    await result.waitFor({ state: 'detached' })
    g.check('forget')
  })
})

describe('backups', () => {
  const table = () => byTestId('backups-table')
  const seeded = () => table().locator(`tr[data-backup="${fx.backup}"]`)

  it('lists an environment’s backups with status, scope, trigger, location, size and downloads', async () => {
    await page.goto(`${cp.base}/sites/${fx.site}`)
    await page.locator('[data-env="production"]').getByRole('link', { name: 'Backups of Production' }).click()
    await page.getByRole('heading', { name: /Production/, level: 1 }).waitFor()
    assert.equal(await page.title(), 'Production · Acme Shop · Pressluft')
    const row = seeded()
    for (const text of ['completed', 'Database and files', 'Manual', 'Node', '48 MiB']) await row.getByRole('cell', { name: text }).first().waitFor()
    assert.equal(await row.getByRole('link', { name: /^Database/ }).getAttribute('href'), `/api/backups/${fx.backup}/download?part=db.sql.zst`)
    assert.equal(await row.getByRole('link', { name: /^Files/ }).getAttribute('href'), `/api/backups/${fx.backup}/download?part=files.tar.zst`)
    assert.equal(await row.getByRole('link', { name: /^Manifest/ }).getAttribute('href'), `/api/backups/${fx.backup}/download?part=manifest.json`)
    // The scheduled database backup's upload was refused: said in words, with what to do.
    const problem = table().locator('[data-testid="offsite-problem"]')
    await problem.getByText(/refused the credentials/).waitFor()
    const text = await problem.textContent()
    assert.match(text, /access key/)
    assert.match(text, /copy on the node is kept/)
    assert.doesNotMatch(text, /offsite_auth_failed/)
    assert.equal(await table().getByRole('button', { name: /^Upload offsite/ }).count(), 0, 'no upload while no offsite target is set')
    // A failed backup says why in words, links its job, and offers neither download nor restore.
    const failed = table().locator(`tr[data-backup="${fx.failed_backup}"]`)
    await failed.getByRole('cell', { name: 'failed' }).waitFor()
    const why = table().locator('.problem-row', { hasText: 'The backup failed.' })
    await why.getByText(/Not enough disk space on the node: The node has 1\.2 GiB free/).waitFor()
    await why.getByRole('link', { name: 'View its job' }).waitFor()
    assert.equal(await failed.getByRole('link').count(), 0)
    assert.equal(await failed.getByRole('button', { name: /^Restore/ }).count(), 0)
    await failed.getByRole('button', { name: /^Delete/ }).waitFor()
  })

  it('unfolds a backup’s manifest: versions, part checksums, rows per table, file count', async () => {
    const toggle = seeded().getByRole('button', { name: /^Details/ })
    await toggle.click()
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true')
    const details = byTestId('backup-details')
    await details.getByText(/WordPress 6\.1\.9 · PHP 8\.2\.29 · MariaDB 10\.11\.14/).waitFor()
    await details.getByText(/^1.?274 files$/).waitFor()
    await details.locator('tr', { hasText: 'wp_postmeta' }).getByText(/^1.?204$/).waitFor()
    assert.equal(await details.locator('td.mono').filter({ hasText: /^[0-9a-f]{64}$/ }).count(), 3, 'the manifest and both parts with their sha256')
    for (const [w, h] of [[1440, 900], [390, 844]]) {
      await page.setViewportSize({ width: w, height: h })
      await page.screenshot({ path: screenshotPath('environment-backup-details', w, h), fullPage: true })
    }
    await page.setViewportSize({ width: 1440, height: 900 })
    await toggle.click()
    await details.waitFor({ state: 'detached' })
  })

  it('starts a backup and follows its job', async () => {
    const before = await table().locator('tbody tr').count()
    await page.locator('form.backup-now').getByLabel('Scope').selectOption('db')
    await page.getByRole('button', { name: 'Back up now' }).click()
    const notice = page.getByRole('status').filter({ hasText: 'Backing up Production: database.' })
    await notice.getByRole('link', { name: /View job/ }).waitFor()
    await notice.locator('.badge').waitFor()
    await table().locator('tbody tr').nth(before).waitFor()
    const fresh = table().locator('tbody tr').first()
    await fresh.getByRole('cell', { name: 'Database', exact: true }).waitFor()
    assert.equal(await fresh.getByRole('button', { name: /^Delete/ }).count(), 0, 'a backup being taken cannot be deleted')
  })

  it('asks before deleting a backup', async () => {
    await seeded().getByRole('button', { name: /^Delete/ }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByText(/copy on the node and its offsite copy are removed/).waitFor()
    await dialog.getByRole('button', { name: 'Keep it' }).click()
    await dialog.waitFor({ state: 'hidden' })
    await seeded().waitFor()
  })

  it('restores only after the target environment’s name is typed', async () => {
    await seeded().getByRole('button', { name: /^Restore/ }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByRole('heading', { name: 'Restore a backup' }).waitFor()
    const target = dialog.getByLabel('Restore into')
    assert.equal(await target.inputValue(), fx.production, 'this environment is the default target')
    const steps = byTestId('restore-steps')
    await steps.getByText('A full backup of Production is taken first.').waitFor()
    await steps.getByText(/checked against its checksum/).waitFor()
    await steps.getByText(/rolled back to the backup taken first/).waitFor()
    const confirm = dialog.getByRole('button', { name: /^Restore into/ })
    assert.equal(await confirm.isDisabled(), true, 'the button waits for the typed name')
    await target.selectOption(fx.staging)
    await steps.getByText('A full backup of Staging is taken first.').waitFor()
    await steps.getByText(/URLs rewritten to Staging’s/).waitFor()
    await dialog.getByLabel(/^Type/).fill('Production')
    assert.equal(await confirm.isDisabled(), true, 'the source’s name does not confirm another target')
    await dialog.getByLabel(/^Type/).fill('Staging')
    assert.equal(await confirm.isDisabled(), false)
    assert.equal(await confirm.textContent(), 'Restore into Staging')
    await page.screenshot({ path: screenshotPath('restore-dialog', 1440, 900) })
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'hidden' })
  })

  it('validates and saves a schedule, and shows its next run', async () => {
    const form = page.locator('form.schedule-form')
    await page.getByText('No schedule: backups are taken only when started by hand.').waitFor()
    const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)
    assert.equal(await form.getByLabel('Time zone').inputValue(), zone, 'the browser’s time zone is the default')
    await form.getByLabel('Frequency').selectOption('weekly')
    await form.getByLabel('Weekday').selectOption('1')
    await form.getByLabel('Hour', { exact: true }).fill('3')
    await form.getByLabel('Minute', { exact: true }).fill('75')
    await form.getByRole('button', { name: 'Save schedule' }).click()
    const err = form.locator('[data-field="minute"] .field-error')
    await err.waitFor()
    assert.match(await err.textContent(), /^Minute must be 0 to 59/)
    assert.equal(await form.getByLabel('Minute', { exact: true }).getAttribute('aria-invalid'), 'true')
    await form.getByLabel('Minute', { exact: true }).fill('30')
    await err.waitFor({ state: 'detached' })
    await form.getByLabel('Time zone').fill('Mars/Olympus')
    await form.getByRole('button', { name: 'Save schedule' }).click()
    await form.locator('[data-field="timezone"] .field-error').getByText(/^Time zone /).waitFor()
    await form.getByLabel('Time zone').fill('Europe/Berlin')
    await form.getByRole('button', { name: 'Save schedule' }).click()
    await form.getByText('Schedule saved.').waitFor()
    const summary = byTestId('schedule-summary')
    await summary.getByText('Weekly on Monday at 03:30 (Europe/Berlin)').waitFor()
    await summary.getByText(/Keeps the last 7 scheduled backups/).waitFor()
    const saved = await (await page.request.get(`${cp.base}/api/environments/${fx.production}/backup-schedule`)).json()
    assert.equal(await summary.locator('time').first().getAttribute('datetime'), saved.next_run_at)
    const next = new Date(saved.next_run_at)
    assert.equal(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', weekday: 'long' }).format(next), 'Monday')
    assert.equal(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(next), '03:30')
  })

  it('removes the schedule after confirming', async () => {
    await page.getByRole('button', { name: 'Remove schedule' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByText(/Backups already taken stay/).waitFor()
    await dialog.getByRole('button', { name: 'Remove schedule' }).click()
    await page.getByText('No schedule: backups are taken only when started by hand.').waitFor()
    assert.equal((await page.request.get(`${cp.base}/api/environments/${fx.production}/backup-schedule`)).status(), 404)
    g.check('backups')
  })

  it('has no serious accessibility violations with a backup unfolded and the restore dialog open', async () => {
    const a11y = await browser.newContext({ bypassCSP: true, viewport: { width: 1440, height: 900 }, storageState: await ctx.storageState() })
    const p = await a11y.newPage()
    await p.goto(`${cp.base}/environments/${fx.production}`)
    const row = p.locator(`tr[data-backup="${fx.backup}"]`)
    await row.getByRole('button', { name: /^Details/ }).click()
    await p.locator('[data-testid="backup-details"]').waitFor()
    const found = (await axe(p)).map((v) => `details: ${v.id} (${v.impact}) ${v.nodes.join(', ')}`)
    await row.getByRole('button', { name: /^Restore/ }).click()
    await p.getByRole('dialog').getByLabel(/^Type/).waitFor()
    for (const v of await axe(p)) found.push(`restore dialog: ${v.id} (${v.impact}) ${v.nodes.join(', ')}`)
    await a11y.close()
    assert.deepEqual(found, [])
  })
})

describe('settings and tokens', () => {
  it('validates and saves the preview domain', async () => {
    await page.goto(`${cp.base}/settings`)
    await page.getByLabel(/Preview domain/).fill('not a domain')
    await page.getByRole('button', { name: 'Save settings' }).click()
    await page.locator('[data-field="preview_domain"] .field-error').waitFor()
    await page.getByLabel(/Preview domain/).fill('preview.example.com')
    await page.getByRole('button', { name: 'Save settings' }).click()
    await page.getByText('Settings saved.').waitFor()
    assert.equal(await page.getByText(/DNS-01/i).count(), 0, 'settings that do not work yet are not offered')
  })

  it('creates a token, shows it once and revokes it', async () => {
    await page.getByRole('button', { name: 'Create token' }).click()
    await page.locator('[data-field="name"] .field-error').waitFor()
    await page.getByLabel('New token name').fill('ci-deploy')
    await page.getByRole('button', { name: 'Create token' }).click()
    const token = await page.locator('#new-token .secret-value').textContent()
    assert.match(token, /^plt_[A-Za-z0-9_-]{43}$/)
    const me = await fetch(`${cp.base}/api/me`, { headers: { Authorization: `Bearer ${token}` } })
    assert.equal(me.status, 200)
    await byTestId('tokens-table').getByRole('cell', { name: 'ci-deploy', exact: true }).waitFor()
    await page.getByRole('button', { name: 'Revoke ci-deploy' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click()
    await page.getByText('No API tokens.').waitFor()
    assert.equal((await fetch(`${cp.base}/api/me`, { headers: { Authorization: `Bearer ${token}` } })).status, 401)
  })
})

describe('offsite backups', () => {
  const section = () => page.locator('section', { has: page.getByRole('heading', { name: 'Offsite backups', level: 2 }) })

  it('validates and saves the offsite storage, keeping the secret key write-only', async () => {
    await page.goto(`${cp.base}/settings`)
    const s = section()
    await s.getByLabel('Endpoint').fill('https://s3.example.com/')
    await s.getByLabel('Use TLS').uncheck()
    await s.getByLabel('Bucket').fill('site-backups')
    await s.getByLabel('Access key').fill('AKIAEXAMPLE')
    await s.getByLabel('Secret key').fill('not-a-real-secret')
    await s.getByRole('button', { name: 'Save offsite storage' }).click()
    const err = s.locator('[data-field="endpoint"] .field-error')
    await err.waitFor()
    assert.match(await err.textContent(), /^Endpoint must be a host name/)
    // Port 1 refuses at once: the connection test below fails fast.
    await s.getByLabel('Endpoint').fill('127.0.0.1:1')
    await err.waitFor({ state: 'detached' })
    await s.getByRole('button', { name: 'Save offsite storage' }).click()
    await s.getByText(/^Offsite storage saved/).waitFor()
    assert.equal(await s.getByLabel('Secret key').inputValue(), '', 'the secret is not shown again')
    await s.getByText(/A secret key is stored \(set\)/).waitFor()
    let stored = await (await page.request.get(`${cp.base}/api/settings/offsite`)).json()
    assert.deepEqual([stored.endpoint, stored.use_tls, stored.bucket, stored.secret_key_set, stored.secret_key], ['127.0.0.1:1', false, 'site-backups', true, undefined])
    // Saved again with the field left empty, the stored secret stays.
    await s.getByLabel('Local copies').fill('3')
    await s.getByRole('button', { name: 'Save offsite storage' }).click()
    await s.getByText(/^Offsite storage saved/).waitFor()
    stored = await (await page.request.get(`${cp.base}/api/settings/offsite`)).json()
    assert.equal(stored.keep_local, 3)
    assert.equal(stored.secret_key_set, true)
  })

  it('says in words that the endpoint did not answer the connection test', async () => {
    await section().getByRole('button', { name: 'Test connection' }).click()
    const result = byTestId('offsite-test')
    await result.getByText('The offsite storage did not answer.').waitFor({ timeout: 60000 })
    const text = await result.textContent()
    assert.match(text, /127\.0\.0\.1:1/)
    assert.doesNotMatch(text, /offsite_unreachable/)
    assert.equal(await result.getAttribute('role'), 'alert')
    await page.screenshot({ path: screenshotPath('settings-offsite-test', 1440, 900), fullPage: true })
  })

  it('offers to upload a backup kept only on its node once a target is set', async () => {
    await page.goto(`${cp.base}/environments/${fx.production}`)
    const row = byTestId('backups-table').locator(`tr[data-backup="${fx.backup}"]`)
    await row.getByRole('button', { name: /^Upload offsite/ }).click()
    await page.getByRole('status').filter({ hasText: /^Uploading the backup of .* offsite\./ }).getByRole('link', { name: /View job/ }).waitFor()
    g.check('offsite backups')
  })
})

describe('releases', () => {
  const table = () => byTestId('releases-table')
  const row = (id) => table().locator(`tr[data-release="${id}"]`)
  const stagingPage = async () => {
    await page.goto(`${cp.base}/environments/${fx.staging}`)
    await table().waitFor()
  }

  it('lists an environment’s releases, newest first, with the served one marked', async () => {
    await page.goto(`${cp.base}/sites/${fx.site}`)
    await page.locator('[data-env="staging"]').getByRole('link', { name: 'Releases of Staging' }).click()
    await page.getByRole('heading', { name: /Staging/, level: 1 }).waitFor()
    const rel = fx.releases
    const ids = await table().locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.release))
    assert.deepEqual(ids, [rel.current, rel.update, rel.archive, rel.initial])
    const current = row(rel.current)
    await current.locator('.badge', { hasText: 'current' }).waitFor()
    for (const text of ['Git', '3f2c1a9b0d4e', 'healthy', '72 MiB']) await current.getByRole('cell', { name: text }).first().waitFor()
    assert.equal(await current.getByRole('button', { name: /^Roll back/ }).count(), 0, 'the served release offers no rollback')
    await row(rel.archive).getByRole('cell', { name: 'https://ci.example.com/builds/shop-theme-42.tar.gz' }).waitFor()
    await row(rel.update).getByRole('cell', { name: 'plugin akismet 5.0 → 5.3.3' }).waitFor()
    await row(rel.update).getByRole('cell', { name: 'kept', exact: true }).waitFor()
    await row(rel.initial).getByRole('cell', { name: 'none', exact: true }).waitFor()
    // The last deploy failed its check and was put back: a warning, not a broken site.
    const last = byTestId('last-change')
    await last.getByText(/did not go through/).waitFor()
    await last.getByText(/serves what it served before/).waitFor()
    assert.equal(await last.getAttribute('role'), 'status')
    assert.match(await last.getAttribute('class'), /notice-warning/)
    for (const [w, h] of [[1440, 900], [390, 844]]) {
      await page.setViewportSize({ width: w, height: h })
      await page.screenshot({ path: screenshotPath('environment-releases', w, h), fullPage: true })
    }
    await page.setViewportSize({ width: 1440, height: 900 })
  })

  it('rolls back only after an explicit choice, and only with a database snapshot kept', async () => {
    await row(fx.releases.initial).getByRole('button', { name: /^Roll back/ }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByRole('heading', { name: /^Roll back to release/ }).waitFor()
    const files = dialog.getByRole('radio', { name: /Files only/ })
    const both = dialog.getByRole('radio', { name: /Files and database/ })
    assert.equal(await files.isChecked(), false, 'no choice is made for the user')
    assert.equal(await both.isChecked(), false)
    assert.equal(await both.isDisabled(), true, 'no snapshot of this release is kept')
    await dialog.getByText('Not available: no database snapshot of this release is kept.').waitFor()
    const confirm = dialog.locator('button[type="submit"]')
    assert.equal(await confirm.isDisabled(), true, 'the button waits for a choice')
    await files.check()
    assert.equal(await confirm.isDisabled(), false)
    assert.equal(await confirm.textContent(), 'Roll back files')
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'hidden' })

    // The release names a snapshot deleted since: the API refuses, said in words.
    await row(fx.releases.archive).getByRole('button', { name: /^Roll back/ }).click()
    await both.check()
    await dialog.getByText(/Content written since then .* is lost/).waitFor()
    assert.equal(await confirm.textContent(), 'Roll back files and database')
    await page.screenshot({ path: screenshotPath('rollback-dialog', 1440, 900) })
    await confirm.click()
    const problem = byTestId('rollback-problem')
    await problem.getByText(/No database snapshot of that release is kept\./).waitFor()
    assert.match(await problem.textContent(), /Roll back the files only/)
    assert.doesNotMatch(await problem.textContent(), /snapshot_unavailable/)
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'hidden' })
    const env = await (await page.request.get(`${cp.base}/api/environments/${fx.staging}`)).json()
    assert.equal(env.status, 'active', 'nothing was started')
  })

  it('validates and saves the health check paths', async () => {
    const field = page.getByLabel(/^Extra paths/)
    await field.fill('/shop/\nwp-login.php')
    await page.getByRole('button', { name: 'Save paths' }).click()
    const err = page.locator('[data-field="health_paths"] .field-error')
    await err.waitFor()
    assert.match(await err.textContent(), /^Extra paths must be paths such as \/shop\//)
    assert.equal(await field.getAttribute('aria-invalid'), 'true')
    await field.fill('/shop/\n/wp-login.php\n')
    await err.waitFor({ state: 'detached' })
    await page.getByRole('button', { name: 'Save paths' }).click()
    await page.getByText('Health check paths saved.').waitFor()
    const env = await (await page.request.get(`${cp.base}/api/environments/${fx.staging}`)).json()
    assert.deepEqual(env.health_paths, ['/shop/', '/wp-login.php'])
  })

  it('has no serious accessibility violations with the rollback and deploy dialogs open', async () => {
    const a11y = await browser.newContext({ bypassCSP: true, viewport: { width: 1440, height: 900 }, storageState: await ctx.storageState() })
    const p = await a11y.newPage()
    await p.goto(`${cp.base}/environments/${fx.staging}`)
    await p.locator(`tr[data-release="${fx.releases.update}"]`).getByRole('button', { name: /^Roll back/ }).click()
    await p.getByRole('dialog').getByRole('radio', { name: /Files and database/ }).check()
    const found = (await axe(p)).map((v) => `rollback dialog: ${v.id} (${v.impact}) ${v.nodes.join(', ')}`)
    await p.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()
    await p.getByRole('button', { name: 'Deploy…' }).click()
    await p.locator('[data-testid="deploy-key"] .secret-value').waitFor()
    for (const v of await axe(p)) found.push(`deploy dialog: ${v.id} (${v.impact}) ${v.nodes.join(', ')}`)
    await a11y.close()
    assert.deepEqual(found, [])
  })

  it('shows the deploy key and what a deploy carries, and refuses a bad repository on its field', async () => {
    await stagingPage()
    await page.getByRole('button', { name: 'Deploy…' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByRole('heading', { name: 'Deploy to Staging' }).waitFor()
    const explained = byTestId('deploy-explained')
    await explained.getByText(/holds wp-content\/ at its root/).waitFor()
    await explained.getByText(/Uploads stay as they are/).waitFor()
    await explained.getByText(/WordPress core comes from the current release/).waitFor()
    const key = byTestId('deploy-key')
    await key.locator('.secret-value', { hasText: /^ssh-ed25519 / }).waitFor()
    await key.getByRole('button', { name: 'Copy deploy key' }).waitFor()
    await key.getByText(/read-only/).waitFor()
    await dialog.getByLabel('Repository', { exact: true }).fill('not a repository')
    await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
    const err = dialog.locator('[data-field="repository"] .field-error')
    await err.waitFor()
    assert.match(await err.textContent(), /^Repository must be an https:\/\//)
    assert.equal(await dialog.getByLabel('Repository', { exact: true }).getAttribute('aria-invalid'), 'true')
    await dialog.getByLabel('Archive URL').check()
    assert.equal(await key.count(), 0, 'an archive needs no deploy key')
    await dialog.getByLabel('Archive URL', { exact: true }).fill('ftp://ci.example.com/shop.zip')
    await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
    await dialog.locator('[data-field="archive_url"] .field-error').getByText(/^Archive URL must be an http/).waitFor()
    await page.screenshot({ path: screenshotPath('deploy-dialog', 1440, 900) })
  })

  it('uploads an archive from the dialog and shows the node\'s refusal on the form', async () => {
    const dialog = page.getByRole('dialog')
    await dialog.getByLabel('Upload an archive').check()
    await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
    await dialog.locator('[data-field="archive_file"] .field-error').getByText('Choose an archive to upload.').waitFor()
    await dialog.getByLabel('Archive file').setInputFiles({ name: 'site.tar.gz', mimeType: 'application/gzip', buffer: Buffer.from('wp-content/') })
    await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
    // The seeded node does not answer: the upload is refused, the dialog stays.
    await dialog.getByRole('alert').getByText(/Cannot reach 127\.0\.0\.1:1/).waitFor()
    await page.screenshot({ path: screenshotPath('deploy-upload', 1440, 900) })
  })

  it('starts a deploy and follows its job', async () => {
    const dialog = page.getByRole('dialog')
    await dialog.getByLabel('Git repository').check()
    await dialog.getByLabel('Repository', { exact: true }).fill('https://git.example.com/acme/shop-theme.git')
    await dialog.getByLabel('Branch, tag or commit').fill('main')
    await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
    await dialog.waitFor({ state: 'hidden' })
    const notice = page.getByRole('status').filter({ hasText: 'Deploying main of https://git.example.com/acme/shop-theme.git to Staging.' })
    await notice.getByRole('link', { name: /View job/ }).waitFor()
    await notice.locator('.badge').waitFor()
    const jobs = await (await page.request.get(`${cp.base}/api/jobs?type=env_deploy&limit=1`)).json()
    assert.equal(jobs.items[0].environment_id, fx.staging)
    assert.deepEqual(jobs.items[0].payload.deploy, { source_type: 'git', repository: 'https://git.example.com/acme/shop-theme.git', source_ref: 'main', archive_url: '' })
    assert.equal(await page.getByRole('button', { name: 'Deploy…' }).isDisabled(), true, 'one change at a time')
    g.check('releases')
  })

  it('shows a deploy that failed its check and rolled back as rolled back, a warning', async () => {
    await page.goto(`${cp.base}/jobs/${fx.releases.rolled_back_job}`)
    await page.getByRole('heading', { name: /Deploy/, level: 1 }).waitFor()
    await page.locator('h1 .badge', { hasText: 'rolled back' }).waitFor()
    const problem = byTestId('job-problem')
    await problem.getByText(/^Rolled back: The site did not answer its health check/).waitFor()
    assert.equal(await problem.getAttribute('role'), 'status')
    assert.equal(await page.getByRole('alert').count(), 0, 'no error box: the site serves as before')
  })
})

describe('updates', () => {
  const updatesUrl = () => `**/api/environments/${fx.production}/updates`
  const installed = (checked) => ({
    checked,
    problem: checked ? '' : 'wordpress.org could not be reached from the node: dial tcp: lookup api.wordpress.org: no such host.',
    items: [
      { type: 'core', slug: 'core', name: 'WordPress', version: '6.1.9', available: checked ? '6.4.2' : '', active: true },
      { type: 'plugin', slug: 'akismet', name: 'Akismet Anti-spam', version: '5.0', available: checked ? '5.3.3' : '', active: true },
      { type: 'theme', slug: 'twentytwentyfour', name: 'Twenty Twenty-Four', version: '1.0', available: '', active: true },
    ],
  })
  const answer = (checked) => (route) => (route.request().method() === 'GET' ? route.fulfill({ json: installed(checked) }) : route.continue())
  const table = () => byTestId('updates-table')

  it('says in words when the node cannot be asked', async () => {
    await page.goto(`${cp.base}/environments/${fx.production}`)
    await page.locator('section', { has: page.getByRole('heading', { name: 'Updates', level: 2 }) }).getByRole('alert').getByText(/Cannot reach 127\.0\.0\.1:1/).waitFor()
  })

  it('lists what is installed as an info notice when wordpress.org could not be asked, and updates one item from a package', async () => {
    await page.route(updatesUrl(), answer(false))
    await page.goto(`${cp.base}/environments/${fx.production}`)
    const notice = byTestId('updates-unchecked')
    await notice.getByText(/lookup api\.wordpress\.org/).waitFor()
    assert.equal(await notice.getAttribute('role'), 'status')
    assert.match(await notice.getAttribute('class'), /notice-info/)
    const akismet = table().locator('tr[data-item="plugin:akismet"]')
    for (const text of ['Plugin', '5.0', 'unknown', 'yes']) await akismet.getByRole('cell', { name: text, exact: true }).waitFor()
    assert.equal(await table().getByRole('button', { name: /^Update/ }).count(), 0, 'nothing is known to be available')
    await page.getByLabel('Update one item').selectOption('plugin:akismet')
    await page.getByLabel(/^Package URL/).fill('ftp://downloads.example.com/akismet.zip')
    await page.getByRole('button', { name: 'Update item' }).click()
    const err = page.locator('[data-field="package_url"] .field-error')
    await err.waitFor()
    assert.match(await err.textContent(), /^Package URL must be an http/)
    await page.getByLabel(/^Package URL/).fill('https://downloads.example.com/akismet.5.3.3.zip')
    await err.waitFor({ state: 'detached' })
    await page.getByLabel('Try the update on a temporary copy first').check()
    await page.getByRole('button', { name: 'Update item' }).click()
    await page.getByRole('status').filter({ hasText: 'Updating plugin Akismet Anti-spam on Production from a package, on a temporary copy first.' }).getByRole('link', { name: /View job/ }).waitFor()
    const jobs = await (await page.request.get(`${cp.base}/api/jobs?type=env_update&limit=1`)).json()
    assert.deepEqual(jobs.items[0].payload.update, { scope: 'plugins', items: ['akismet'], package_url: 'https://downloads.example.com/akismet.5.3.3.zip', verify_on_clone: true })
    await page.unroute(updatesUrl())
  })

  it('offers an update per item with one available, and all at once', async () => {
    await page.route(updatesUrl(), answer(true))
    await page.goto(`${cp.base}/environments/${fx.production}`)
    await table().locator('tr[data-item="core:core"]').getByRole('cell', { name: '6.4.2', exact: true }).waitFor()
    await table().getByRole('button', { name: 'Update plugin Akismet Anti-spam to 5.3.3' }).waitFor()
    await table().getByRole('button', { name: 'Update WordPress to 6.4.2' }).waitFor()
    await table().locator('tr[data-item="theme:twentytwentyfour"]').getByRole('cell', { name: 'up to date' }).waitFor()
    await page.getByRole('button', { name: 'Update all (2)' }).waitFor()
    assert.equal(await byTestId('updates-unchecked').count(), 0)
    await page.screenshot({ path: screenshotPath('environment-updates', 1440, 900), fullPage: true })
    await page.unroute(updatesUrl())
    g.check('updates')
  })
})

promotionSuite(() => ({ cp, browser, ctx, page, g, fx }))

describe('release settings', () => {
  const section = () => page.locator('section', { has: page.getByRole('heading', { name: 'Releases', level: 2 }) })

  it('validates and saves how many releases are kept and whether private sources are allowed', async () => {
    await page.goto(`${cp.base}/settings`)
    const s = section()
    assert.equal(await s.getByLabel('Releases kept').inputValue(), '5')
    assert.equal(await s.getByLabel('Allow private sources').isChecked(), false)
    await s.getByLabel('Releases kept').fill('1')
    await s.getByRole('button', { name: 'Save release settings' }).click()
    const err = s.locator('[data-field="releases_keep"] .field-error')
    await err.waitFor()
    assert.match(await err.textContent(), /^Releases kept must be 2/)
    await s.getByLabel('Releases kept').fill('8')
    await s.getByLabel('Allow private sources').check()
    await s.getByRole('button', { name: 'Save release settings' }).click()
    await s.getByText('Release settings saved.').waitFor()
    const st = await (await page.request.get(`${cp.base}/api/settings`)).json()
    assert.deepEqual([st.releases_keep, st.allow_private_sources], [8, true])
  })
})

describe('audit log', () => {
  it('lists changes and filters them by action', async () => {
    await page.goto(`${cp.base}/audit`)
    await page.getByRole('cell', { name: 'token.create' }).first().waitFor()
    await page.getByLabel('Action').fill('site.create')
    await page.getByRole('button', { name: 'Apply' }).click()
    await page.waitForURL(/action=site.create/)
    await page.getByRole('cell', { name: 'token.create' }).first().waitFor({ state: 'detached' })
    const actions = await page.locator('tbody tr td:nth-child(3)').allTextContents()
    assert.ok(actions.length > 0)
    for (const a of actions) assert.equal(a, 'site.create')
  })
})

describe('every page', () => {
  const pages = () => [
    ['login', '/login'], ['sites', '/sites'], ['site', `/sites/${fx.site}`], ['nodes', '/nodes'], ['node', `/nodes/${fx.active_node}`],
    ['environment', `/environments/${fx.production}`], ['environment-staging', `/environments/${fx.staging}`], ['jobs', '/jobs'], ['job', `/jobs/${fx.retried_job}`], ['job-failed', `/jobs/${fx.failed_job}`], ['audit', '/audit'],
    ['settings', '/settings'], ['not-found', '/sites/nope'],
  ]

  it('renders at desktop and phone size without script errors or CSP violations', async () => {
    for (const [w, h] of [[1440, 900], [390, 844]]) {
      await page.setViewportSize({ width: w, height: h })
      for (const [name, path] of pages()) {
        if (name === 'login') continue
        await page.goto(`${cp.base}${path}`)
        await page.locator('h1').first().waitFor()
        await page.waitForLoadState('networkidle')
        await page.screenshot({ path: screenshotPath(name, w, h), fullPage: true })
      }
      if (w === 390) {
        const header = await page.locator('header.topbar').boundingBox()
        assert.ok(header.height <= 110, `the phone header takes ${header.height}px`)
      }
    }
    g.check('every page')
    await page.setViewportSize({ width: 1440, height: 900 })
  })

  it('has no serious or critical accessibility violations', async () => {
    const a11y = await browser.newContext({ bypassCSP: true, viewport: { width: 1440, height: 900 }, storageState: await ctx.storageState() })
    const p = await a11y.newPage()
    const found = []
    for (const [name, path] of pages()) {
      if (name === 'login') continue
      await p.goto(`${cp.base}${path}`)
      await p.locator('h1').first().waitFor()
      await p.waitForLoadState('networkidle')
      for (const v of await axe(p)) found.push(`${name}: ${v.id} (${v.impact}) ${v.nodes.join(', ')}`)
    }
    const anon = await browser.newContext({ bypassCSP: true })
    const lp = await anon.newPage()
    await lp.goto(`${cp.base}/login`)
    await lp.getByRole('heading', { name: 'Sign in' }).waitFor()
    await lp.screenshot({ path: screenshotPath('login', 1440, 900) })
    await lp.setViewportSize({ width: 390, height: 844 })
    await lp.screenshot({ path: screenshotPath('login', 390, 844) })
    for (const v of await axe(lp)) found.push(`login: ${v.id} (${v.impact}) ${v.nodes.join(', ')}`)
    await a11y.close()
    await anon.close()
    assert.deepEqual(found, [])
  })
})

describe('session', () => {
  it('sends an expired session back to the login, then to the page', async () => {
    await page.goto(`${cp.base}/nodes`)
    await page.getByRole('heading', { name: 'Nodes', level: 1 }).waitFor()
    // The server forgets the session: the next request answers 401.
    await ctx.clearCookies()
    await page.getByRole('link', { name: 'Jobs', exact: true }).click()
    await page.getByText('Your session has ended. Please sign in again.').waitFor()
    await page.getByLabel('E-mail').fill(fx.admin_email)
    await page.getByLabel('Password').fill(fx.admin_password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: /Jobs|Nodes/, level: 1 }).waitFor()
  })

  it('signs out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/\/login/)
    await page.goto(`${cp.base}/sites`)
    await page.waitForURL(/\/login\?next=(%2F|\/)sites/)
    g.check('session')
  })
})
