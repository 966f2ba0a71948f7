// Page helpers shared by the browser suites: login, accessibility check and
// a guard that fails on any script error or Content-Security-Policy violation.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import assert from 'node:assert/strict'

const require = createRequire(import.meta.url)
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

/** Records console errors and page errors; check() asserts there were none. */
export function guard(page) {
  const problems = []
  page.on('console', (m) => {
    // A refused API call is logged by the browser as a failed resource; the app shows it itself.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(m.text())
  })
  page.on('pageerror', (e) => problems.push(String(e)))
  return {
    problems,
    check(where) {
      assert.deepEqual(problems, [], `script errors or CSP violations on ${where}`)
    },
  }
}

export async function login(page, base, email, password) {
  await page.goto(`${base}/login`)
  await page.getByLabel('E-mail').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL((u) => !u.pathname.startsWith('/login'))
}

/** Runs axe-core (injected: the page's CSP rightly refuses it otherwise). */
export async function axe(page) {
  await page.evaluate(axeSource)
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, { resultTypes: ['violations'] })
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))
  })
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}
