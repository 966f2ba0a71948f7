// The promotion panel of a staging environment, against a mocked API for
// the promotion routes and their jobs (the fixture has no node to check
// drift on): gates before the click, a drift check followed live, its
// result as a list, the protection form, the confirmation and the
// promotion's steps and result. Registered by dashboard.test.mjs.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { axe } from './pages.mjs'
import { screenshotPath } from './harness.mjs'

const DRIFT_JOB = '0190f000-0000-7000-8000-0000000000d1'
const PROMOTE_JOB = '0190f000-0000-7000-8000-0000000000e1'
const NOW = () => new Date().toISOString()
const MIN_AGO = (m) => new Date(Date.now() - m * 60000).toISOString()

const CONTENT = ['wp_posts', 'wp_postmeta', 'wp_terms', 'wp_term_taxonomy', 'wp_term_relationships', 'wp_termmeta', 'wp_comments', 'wp_commentmeta', 'wp_users', 'wp_usermeta']

function job(id, type, envId, over = {}) {
  return {
    id, type, status: 'running', site_id: '', environment_id: envId, node_id: '', payload: {}, result: {}, attempt: 1, max_attempts: 3,
    run_after: MIN_AGO(1), cancel_requested: false, error_code: '', error_message: '', rolled_back: false, created_at: MIN_AGO(1),
    started_at: MIN_AGO(1), finished_at: null, updated_at: NOW(), events: [], ...over,
  }
}

function check(id, envId, sourceId, result, changes, minutesAgo) {
  return {
    id, environment_id: envId, source_environment_id: sourceId, job_id: DRIFT_JOB, result, changes, protected: CONTENT,
    baseline_at: MIN_AGO(600), content_hash: 'ab'.repeat(32), created_at: MIN_AGO(minutesAgo),
  }
}

/** Registers the suite; env() returns the shared browser state once the suite's before() ran. */
export function promotionSuite(env) {
  describe('promotion', () => {
    let s
    const api = {}

    const promoteList = (u) => u.pathname === '/api/jobs' && u.searchParams.get('type') === 'env_promote'
    const json = (route, status, body) => route.fulfill({ status, contentType: 'application/json', json: body })
    const panel = () => s.page.locator('[data-testid="promotion-panel"]')

    async function mock() {
      const { page, cp, fx } = s
      api.gates = {
        target_environment_id: fx.production, promotion_preset: 'content-protect', protected_tables: [], protected: CONTENT,
        drift: { ok: false, code: 'drift_not_clean', message: 'No drift check has run on this environment; run one first.' },
        backup: { ok: false, code: 'backup_not_fresh', message: 'The target has no completed full backup from the last 60 minutes; back it up first, or promote with backup_first.' },
      }
      api.checks = [check('0190f000-0000-7000-8000-0000000000c1', fx.staging, fx.production, 'drifted',
        [{ kind: 'component', name: 'plugin/akismet', change: 'changed', from: '5.0', to: '5.3.3' }], 300)]
      api.drift = null
      api.promote = null
      api.puts = []
      api.promotes = []
      // Earlier tests left both environments busy: here they are active.
      await page.route(`**/api/environments/${fx.staging}`, async (route) => {
        if (route.request().method() !== 'GET') return route.continue()
        const res = await route.fetch()
        const e = await res.json()
        return json(route, 200, { ...e, status: 'active', drift_status: api.driftStatus ?? 'drifted', promotion_preset: api.gates.promotion_preset, protected_tables: api.gates.protected_tables })
      })
      await page.route(`**/api/sites/${fx.site}`, async (route) => {
        const res = await route.fetch()
        const site = await res.json()
        site.environments = site.environments.map((e) => ({ ...e, status: e.status === 'deleted' ? e.status : 'active' }))
        return json(route, 200, site)
      })
      await page.route(`**/api/environments/${fx.staging}/promotion`, async (route) => {
        if (route.request().method() === 'GET') return json(route, 200, api.gates)
        const body = route.request().postDataJSON()
        api.puts.push(body)
        if (body.protected_tables.includes('wp_nope')) {
          return json(route, 400, { code: 'validation_failed', message: 'Table wp_nope does not exist in this environment or its source.', details: { field: 'protected_tables' } })
        }
        api.gates = { ...api.gates, promotion_preset: body.promotion_preset, protected_tables: body.protected_tables,
          protected: [...(body.promotion_preset === 'custom' ? [] : CONTENT), ...body.protected_tables.map((t) => (t.startsWith('wp_') ? t : `wp_${t}`))] }
        const e = await (await route.fetch({ method: 'GET', url: `${cp.base}/api/environments/${fx.staging}` })).json()
        return json(route, 200, { ...e, status: 'active', promotion_preset: body.promotion_preset, protected_tables: body.protected_tables })
      })
      await page.route(`**/api/environments/${fx.staging}/drift-checks`, (route) => json(route, 200, { items: api.checks }))
      await page.route(`**/api/environments/${fx.staging}/drift-check`, (route) => {
        api.drift = job(DRIFT_JOB, 'drift_check', fx.staging, { events: [{ seq: 1, job_id: DRIFT_JOB, step: 'drift', level: 'info', message: 'Comparing site001-production now with its state when site001-staging was copied.', time: NOW() }] })
        return json(route, 202, { job_id: DRIFT_JOB, environment_id: fx.staging })
      })
      await page.route(`**/api/environments/${fx.staging}/promote`, (route) => {
        const body = route.request().postDataJSON()
        api.promotes.push(body)
        api.promote = job(PROMOTE_JOB, 'env_promote', fx.production, {
          payload: { promote: { source_environment_id: fx.staging, backup_id: body.backup_first ? '0190f000-0000-7000-8000-0000000000b1' : '' }, snapshot_id: '' },
          events: [
            { seq: 1, job_id: PROMOTE_JOB, step: 'backup', level: 'info', message: 'Taking a full backup of site001-production first.', time: NOW() },
            { seq: 2, job_id: PROMOTE_JOB, step: 'snapshot', level: 'info', message: 'Taking a snapshot of the database first.', time: NOW() },
            { seq: 3, job_id: PROMOTE_JOB, step: 'build', level: 'info', message: 'Building release 20261129-e1 of site001-production with the code of site001-staging.', time: NOW() },
          ],
        })
        return json(route, 202, { job_id: PROMOTE_JOB, environment_id: fx.staging })
      })
      await page.route(`**/api/jobs/${DRIFT_JOB}`, (route) => json(route, 200, api.drift))
      await page.route(`**/api/jobs/${PROMOTE_JOB}`, (route) => json(route, 200, api.promote))
    }

    async function unmock() {
      const { page, fx } = s
      for (const u of [`**/api/environments/${fx.staging}`, `**/api/sites/${fx.site}`, `**/api/environments/${fx.staging}/promotion`,
        `**/api/environments/${fx.staging}/drift-checks`, `**/api/environments/${fx.staging}/drift-check`, `**/api/environments/${fx.staging}/promote`,
        `**/api/jobs/${DRIFT_JOB}`, `**/api/jobs/${PROMOTE_JOB}`]) await page.unroute(u)
    }

    it('shows nothing of promotion on production', async () => {
      s = env()
      await s.page.goto(`${s.cp.base}/environments/${s.fx.production}`)
      await s.page.getByRole('heading', { name: /Production/, level: 1 }).waitFor()
      await s.page.getByRole('heading', { name: 'Releases', level: 2 }).waitFor()
      assert.equal(await panel().count(), 0)
      assert.equal(await s.page.locator('[data-testid="drift-status"]').count(), 0)
    })

    it('shows the drift status, the gates before the click and the last drift check as a list', async () => {
      await mock()
      const { page, cp, fx } = s
      await page.goto(`${cp.base}/environments/${fx.staging}`)
      await page.locator('[data-testid="drift-status"]', { hasText: 'drifted' }).waitFor()
      const p = panel()
      await p.getByRole('heading', { name: 'Promotion to Production', level: 2 }).waitFor()
      const gates = p.locator('[data-testid="promotion-gates"]')
      await gates.locator('[data-gate="drift"]').getByText('No drift check has run on this environment; run one first.').waitFor()
      await gates.locator('[data-gate="backup"]').getByText(/no completed full backup from the last 60 minutes/).waitFor()
      assert.equal(await p.getByRole('button', { name: 'Promote to Production' }).isDisabled(), true, 'the drift gate fails')
      assert.equal(await p.getByRole('button', { name: 'Back up and promote' }).count(), 0, 'a backup does not fix drift')
      const latest = p.locator('[data-testid="drift-latest"]')
      await latest.getByText('1 change: 1 plugin, theme or core version.').waitFor()
      const row = latest.locator('[data-change="Plugin akismet"]')
      await row.getByText('changed').waitFor()
      await row.getByText('5.0 → 5.3.3').waitFor()
      await p.locator('[data-testid="protected-resolved"]').getByText('wp_posts, wp_postmeta, wp_terms, wp_term_taxonomy, wp_term_relationships, wp_termmeta, wp_comments, wp_commentmeta, wp_users, wp_usermeta and uploads').waitFor()
      assert.equal(await p.getByLabel('Preset').inputValue(), 'content-protect')
    })

    it('validates and saves the protection', async () => {
      const p = panel()
      await p.getByLabel('Preset').selectOption('custom')
      await p.getByText('Only the tables listed below stay as they are.').waitFor()
      await p.getByLabel(/^Extra tables/).fill('wp_nope, wc_*')
      await p.getByRole('button', { name: 'Save protection' }).click()
      const err = p.locator('[data-field="protected_tables"] .field-error')
      await err.waitFor()
      assert.equal(await err.textContent(), 'Table wp_nope does not exist in this environment or its source.')
      assert.equal(await p.getByLabel(/^Extra tables/).getAttribute('aria-invalid'), 'true')
      await p.getByLabel(/^Extra tables/).fill('wp_orders\nwc_*')
      await err.waitFor({ state: 'detached' })
      await p.getByLabel('Preset').selectOption('commerce-protect')
      await p.getByLabel(/^Extra tables/).fill('orders, wc_*')
      await p.getByRole('button', { name: 'Save protection' }).click()
      await p.getByText('Protection saved.').waitFor()
      assert.deepEqual(api.puts.at(-1), { promotion_preset: 'commerce-protect', protected_tables: ['orders', 'wc_*'] })
      await p.locator('[data-testid="protected-resolved"]').getByText(/wp_usermeta, wp_orders, wp_wc_\* and uploads$/).waitFor()
    })

    it('checks drift and follows the job live to its result', async () => {
      const { page, fx } = s
      const p = panel()
      await p.getByRole('button', { name: 'Check drift' }).click()
      const running = p.locator('[data-testid="drift-running"]')
      await running.getByText(/Comparing site001-production now/).waitFor()
      assert.equal(await p.getByRole('button', { name: 'Check drift' }).isDisabled(), true, 'one check at a time')
      // The job ends: a clean check is stored and the drift gate passes.
      api.checks = [check('0190f000-0000-7000-8000-0000000000c2', fx.staging, fx.production, 'clean', [], 0), ...api.checks]
      api.gates = { ...api.gates, drift: { ok: true, message: 'The latest drift check is clean and recent.' } }
      api.driftStatus = 'clean'
      api.drift = { ...api.drift, status: 'succeeded', finished_at: NOW(), result: { result: 'clean', changes: [] } }
      await running.waitFor({ state: 'detached' })
      await p.locator('[data-testid="drift-latest"]').getByText('No changes outside the protected tables.').waitFor()
      await page.locator('[data-testid="drift-status"]', { hasText: 'no drift' }).waitFor()
      await p.locator('[data-gate="drift"]').getByText('The latest drift check is clean and recent.').waitFor()
      const older = p.locator('[data-testid="drift-older"]')
      await older.getByText('Earlier checks (1)').waitFor()
      assert.equal(await older.locator('[data-change="Plugin akismet"]').isVisible(), false, 'earlier checks are folded')
      await older.getByText('Earlier checks (1)').click()
      await older.locator('[data-change="Plugin akismet"]').waitFor()
    })

    it('offers back up and promote when only the backup gate fails, and confirms what moves and what is protected', async () => {
      const { page } = s
      const p = panel()
      const both = p.getByRole('button', { name: 'Back up and promote' })
      await both.waitFor()
      assert.equal(await p.getByRole('button', { name: 'Promote to Production' }).isDisabled(), true)
      await both.click()
      const dialog = page.getByRole('dialog')
      await dialog.getByRole('heading', { name: 'Promote Staging to Production?' }).waitFor()
      await dialog.getByText('A full backup of Production is taken first.').waitFor()
      await dialog.getByText(/^Code: the plugins, themes and mu-plugins of Staging become a new release of Production/).waitFor()
      await dialog.getByText(/^Kept as they are on Production: wp_posts, .*wp_orders, wp_wc_\* and uploads\.$/).waitFor()
      await page.screenshot({ path: screenshotPath('promote-dialog', 1440, 900) })
      await dialog.getByRole('button', { name: 'Keep it' }).click()
      await dialog.waitFor({ state: 'hidden' })
      assert.equal(api.promotes.length, 0, 'nothing starts without the confirmation')
    })

    it('promotes and shows the job’s steps live, then what moved', async () => {
      const { page, fx } = s
      const p = panel()
      await p.getByRole('button', { name: 'Back up and promote' }).click()
      await page.getByRole('dialog').getByRole('button', { name: 'Back up and promote to Production' }).click()
      const progress = p.locator('[data-testid="promotion-progress"]')
      await progress.locator('[data-step="build"][data-state="running"]').waitFor()
      await progress.locator('[data-step="backup"][data-state="done"]').waitFor()
      await progress.locator('[data-step="database"][data-state="pending"]').waitFor()
      assert.deepEqual(api.promotes, [{ target_environment_id: fx.production, backup_first: true }])
      await page.getByRole('status').filter({ hasText: 'Promoting Staging to Production after a full backup.' }).getByRole('link', { name: /View job/ }).waitFor()
      assert.equal(await p.getByRole('button', { name: 'Back up and promote' }).isDisabled(), true, 'one promotion at a time')
      const more = [['database', 'Moved 2 tables (wp_options, wp_links); left 12 protected tables as they were.'], ['switch', 'Switched to release 20261129-e1.'],
        ['health_check', 'https://shop.example/ answered 200.']]
      api.promote = {
        ...api.promote, status: 'succeeded', finished_at: NOW(),
        events: [...api.promote.events, ...more.map(([step, message], i) => ({ seq: 4 + i, job_id: PROMOTE_JOB, step, level: 'info', message, time: NOW() }))],
        result: { release_id: '20261129-e1', moved_tables: ['wp_options', 'wp_links'], protected_tables: ['wp_posts', 'wp_comments'], search_replace: { hosts: ['staging.shop.example'], cells: 12, unparseable: 0 }, backup_id: '0190f000-0000-7000-8000-0000000000b1' },
      }
      const outcome = progress.locator('[data-testid="promotion-outcome"]')
      await outcome.getByText('Promoted.').waitFor()
      await outcome.getByText('wp_options, wp_links').waitFor()
      await outcome.getByText(/Kept 2 protected tables/).waitFor()
      await outcome.getByText('12 values rewritten to the target’s address.').waitFor()
      assert.equal(await progress.locator('[data-state="done"]').count(), 6)
      for (const [w, h] of [[1440, 900], [390, 844]]) {
        await page.setViewportSize({ width: w, height: h })
        await page.screenshot({ path: screenshotPath('environment-promotion', w, h), fullPage: true })
      }
      await page.setViewportSize({ width: 1440, height: 900 })
    })

    it('shows a promotion that failed its check and rolled back as a warning', async () => {
      const p = panel()
      api.promote = {
        ...api.promote, status: 'failed', rolled_back: true, error_code: 'health_check_failed', error_message: 'https://shop.example/ answered 500, want 200.', result: {},
        events: [...api.promote.events.filter((e) => e.step !== 'health_check'),
          { seq: 10, job_id: PROMOTE_JOB, step: 'health_check', level: 'error', message: 'https://shop.example/ answered 500, want 200.', time: NOW() },
          { seq: 11, job_id: PROMOTE_JOB, step: 'rollback', level: 'info', message: 'Release 20261128-a1 and the database snapshot are served again.', time: NOW() }],
      }
      const progress = p.locator('[data-testid="promotion-progress"]')
      // A reload finds the last promotion through the job list.
      await s.page.route(promoteList, (route) => json(route, 200, { items: [api.promote], next_cursor: '' }))
      await s.page.reload()
      const outcome = progress.locator('[data-testid="promotion-outcome"]')
      await outcome.getByText(/^Rolled back: the previous release and database are served again\./).waitFor()
      assert.equal(await outcome.getAttribute('role'), 'status')
      assert.match(await outcome.getAttribute('class'), /notice-warning/)
      await progress.locator('[data-step="health_check"][data-state="failed"]').waitFor()
      await progress.locator('[data-step="rollback"][data-state="done"]').waitFor()
    })

    it('has no serious accessibility violations with the panel and its confirmation', async () => {
      const { browser, ctx, cp, fx, page } = s
      const a11y = await browser.newContext({ bypassCSP: true, viewport: { width: 1440, height: 900 }, storageState: await ctx.storageState() })
      const p = await a11y.newPage()
      // The same mocks, on this page.
      const saved = s.page
      s.page = p
      await mock()
      api.gates = { ...api.gates, drift: { ok: true, message: 'The latest drift check is clean and recent.' }, backup: { ok: true, message: 'The target has a full backup from the last hour.' } }
      await p.goto(`${cp.base}/environments/${fx.staging}`)
      await p.locator('[data-testid="promotion-panel"]').getByRole('button', { name: 'Promote to Production' }).waitFor()
      await p.locator('[data-testid="drift-latest"]').waitFor()
      const found = (await axe(p)).map((v) => `promotion panel: ${v.id} (${v.impact}) ${v.nodes.join(', ')}`)
      await p.locator('[data-testid="promotion-panel"]').getByRole('button', { name: 'Promote to Production' }).click()
      await p.getByRole('dialog').getByRole('heading', { name: 'Promote Staging to Production?' }).waitFor()
      for (const v of await axe(p)) found.push(`promote dialog: ${v.id} (${v.impact}) ${v.nodes.join(', ')}`)
      await a11y.close()
      s.page = saved
      assert.deepEqual(found, [])
      await page.unroute(promoteList)
      await unmock()
      s.g.check('promotion')
    })
  })
}
