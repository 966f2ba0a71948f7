// Copies the generated app into dist/, which the Go binary embeds, and stores
// the hash of the sources it was built from (checked by `npm run stale`).
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { sourcesHash } from './sources-hash.mjs'

const out = '.output/public'
if (!existsSync(`${out}/index.html`)) throw new Error(`${out}/index.html missing: run nuxt generate first`)
rmSync('dist', { recursive: true, force: true })
mkdirSync('dist')
for (const name of ['index.html', 'favicon.svg', '_nuxt']) cpSync(`${out}/${name}`, `dist/${name}`, { recursive: true })
writeFileSync('dist.sha256', `${sourcesHash()}\n`)
console.log('dist/ updated')
