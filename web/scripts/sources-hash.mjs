// The hash of everything the built dashboard depends on. Builds are not
// byte-reproducible, so staleness is judged by the sources, not the output.
// With --check it compares with dist.sha256 and fails when they differ.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const FILES = ['nuxt.config.ts', 'package.json', 'package-lock.json', 'tsconfig.json']
const DIRS = ['app', 'public']
const GENERATED = 'app/api/schema.ts'

function walk(dir) {
  return readdirSync(join(root, dir)).sort().flatMap((name) => {
    const rel = `${dir}/${name}`
    return statSync(join(root, rel)).isDirectory() ? walk(rel) : [rel]
  })
}

// The generated API types count without their comments: a reworded
// description in openapi.yaml changes nothing that is built.
function content(rel) {
  const text = readFileSync(join(root, rel), 'utf8')
  if (rel !== GENERATED) return text
  return text.split('\n').filter((l) => !/^\s*(\/\*\*|\*|\*\/)/.test(l)).join('\n')
}

export function sourcesHash() {
  const h = createHash('sha256')
  for (const rel of [...FILES, ...DIRS.flatMap(walk)]) {
    h.update(`${rel}\0${content(rel)}\0`)
  }
  return h.digest('hex')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const now = sourcesHash()
  if (process.argv.includes('--check')) {
    const stored = readFileSync(join(root, 'dist.sha256'), 'utf8').trim()
    if (stored !== now) {
      console.error(`web/dist is stale: built from sources ${stored.slice(0, 12)}, sources are now ${now.slice(0, 12)}. Run \`make web\` and commit web/dist.`)
      process.exit(1)
    }
    console.log('web/dist matches its sources')
  } else {
    console.log(now)
  }
}
