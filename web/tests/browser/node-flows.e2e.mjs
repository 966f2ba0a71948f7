// The dashboard's flows that need a real, provisioned node: provision,
// site create, staging copy, deletes. Run by the end-to-end suite
// (e2e/dashboard_test.go) against its control plane:
//   PRESSLUFT_URL  PRESSLUFT_EMAIL  PRESSLUFT_PASSWORD  PRESSLUFT_NODE_ID
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { launchBrowser, screenshotPath } from './harness.mjs'
import { guard, login } from './pages.mjs'

const env = (k) => {
  const v = process.env[k]
  if (!v) throw new Error(`${k} is required`)
  return v
}
const base = env('PRESSLUFT_URL').replace(/\/$/, '')
const nodeId = env('PRESSLUFT_NODE_ID')
const JOB = 15 * 60 * 1000 // provisioning may take minutes

let browser, page, g
let siteUrl = ''

before(async () => {
  browser = await launchBrowser()
  page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage()
  page.setDefaultTimeout(30000)
  g = guard(page)
  await login(page, base, env('PRESSLUFT_EMAIL'), env('PRESSLUFT_PASSWORD'))
})

after(async () => {
  await browser?.close()
})

/** GETs a preview URL on the node's address with the URL's host name, as DNS would; returns the status. */
async function statusVia(url) {
  const node = await (await page.request.get(`${base}/api/nodes/${nodeId}`)).json()
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request({ host: node.host, port: 80, path: u.pathname || '/', headers: { Host: u.host } }, (res) => {
      res.resume()
      resolve(res.statusCode)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Opens the job of the newest notice matching text and waits until it ends; returns its status. */
async function followJob(text) {
  await page.getByRole('status').filter({ hasText: text }).first().getByRole('link', { name: /View job/ }).click()
  await page.locator('.live', { hasText: 'Live' }).or(page.locator('h1 .badge', { hasText: /succeeded|failed|cancelled/ })).first().waitFor()
  const badge = page.locator('h1 .badge', { hasText: /^(succeeded|failed|cancelled)$/ })
  await badge.waitFor({ timeout: JOB })
  return badge.textContent()
}

describe('on a provisioned node', () => {
  it('re-provisions the node from its page and follows the job live', async () => {
    await page.goto(`${base}/nodes/${nodeId}`)
    const name = (await page.locator('h1').textContent()).replace(/\s*active.*$/, '').trim()
    await page.getByRole('button', { name: 'Re-provision' }).click()
    assert.equal(await followJob(`Provisioning ${name}.`), 'succeeded')
    await page.locator('.events .event').first().waitFor()
    await page.goto(`${base}/nodes/${nodeId}`)
    await page.locator('h1 .badge', { hasText: 'active' }).waitFor()
  })

  it('creates a site and shows it active with its production URL', async () => {
    await page.goto(`${base}/sites`)
    const form = page.locator('form', { has: page.getByRole('button', { name: 'Create site' }) })
    await form.getByLabel('Name', { exact: true }).fill('Dashboard Site')
    await form.getByLabel('Slug').fill('dashui')
    await form.getByLabel('Node').selectOption(nodeId)
    await form.getByRole('button', { name: 'Create site' }).click()
    await page.locator('#credentials').getByText('Save this password now.').waitFor()
    assert.equal(await followJob('Creating site Dashboard Site.'), 'succeeded')
    await page.getByRole('link', { name: 'Dashboard Site' }).first().click()
    const prod = page.locator('[data-env="production"]')
    await prod.locator('.badge', { hasText: 'active' }).waitFor({ timeout: JOB })
    siteUrl = page.url()
    const link = prod.getByRole('link', { name: /^https?:\/\// })
    await link.waitFor()
    assert.equal(await statusVia(await link.getAttribute('href')), 200, 'the production URL answers')
    await page.screenshot({ path: screenshotPath('e2e-site', 1440, 900), fullPage: true })
  })

  it('adds a staging copy of production', async () => {
    const form = page.locator('form', { has: page.getByRole('button', { name: 'Create environment' }) })
    await form.getByLabel('Name').fill('Staging')
    await form.getByLabel('Slug').fill('staging')
    await form.getByRole('button', { name: 'Create environment' }).click()
    assert.equal(await followJob('Creating staging Staging.'), 'succeeded')
    await page.goto(siteUrl)
    const staging = page.locator('[data-env="staging"]')
    await staging.locator('.badge', { hasText: 'active' }).waitFor({ timeout: JOB })
    assert.equal(await statusVia(await staging.getByRole('link', { name: /^https?:\/\// }).getAttribute('href')), 200, 'the staging URL answers')
  })

  it('deletes the staging copy', async () => {
    await page.getByRole('button', { name: 'Delete Staging' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByRole('textbox').fill('staging')
    await dialog.getByRole('button', { name: 'Delete environment' }).click()
    assert.equal(await followJob('Deleting environment Staging.'), 'succeeded')
    await page.goto(siteUrl)
    await page.locator('[data-env="production"]').waitFor()
    assert.equal(await page.locator('[data-env="staging"]').count(), 0)
  })

  it('deletes the site', async () => {
    await page.getByRole('button', { name: 'Delete site' }).click()
    const dialog = page.getByRole('dialog')
    const confirm = dialog.getByRole('button', { name: 'Delete site' })
    assert.equal(await confirm.isDisabled(), true, 'deleting needs the slug typed')
    await dialog.getByRole('textbox').fill('dashui')
    await confirm.click()
    await page.waitForURL(`${base}/sites`)
    assert.equal(await followJob('Deleting site Dashboard Site.'), 'succeeded')
    await page.goto(`${base}/sites`)
    await page.getByRole('heading', { name: 'Sites', level: 1 }).waitFor()
    assert.equal(await page.getByRole('link', { name: 'Dashboard Site' }).count(), 0)
    g.check('node flows')
  })
})
