// Forget: removes a resource whose node is gone from the control plane
// without contacting the node (DELETE with force=true), after a typed-name
// confirmation. The answer lists what may remain on the node.
import { api, call, type Forgotten } from '~/api/client'

const remains = 'their files, databases, Linux users, PHP pools, web server configuration, cron entries and local backups stay on the server; what may remain is listed afterwards.'

async function confirmForget(what: string, name: string, typed: string, removes: string): Promise<boolean> {
  return confirmAction({
    title: `Forget ${what} ${name}?`,
    message: `Its node cannot be reached, so nothing can be removed there. Forgetting removes ${removes} from Pressluft only, in one step that cannot be undone:`,
    points: [
      'their records, secrets, releases, backup records and domains are deleted here;',
      'their queued jobs are cancelled (a running job must be cancelled first);',
      remains,
    ],
    confirmLabel: `Forget ${what}`, typed,
  })
}

export async function forgetNode(n: { id: string, name: string }): Promise<Forgotten | null> {
  if (!await confirmForget('node', n.name, n.name, 'this node and every site and environment on it')) return null
  return forgetCall(() => call(api.DELETE('/api/nodes/{id}', { params: { path: { id: n.id }, query: { force: true } } })), `Node ${n.name} forgotten.`)
}

export async function forgetSite(s: { id: string, name: string, slug: string }): Promise<Forgotten | null> {
  if (!await confirmForget('site', s.name, s.slug, 'this site and all its environments')) return null
  return forgetCall(() => call(api.DELETE('/api/sites/{id}', { params: { path: { id: s.id }, query: { force: true } } })), `Site ${s.name} forgotten.`)
}

export async function forgetEnvironment(e: { id: string, name: string, slug: string }): Promise<Forgotten | null> {
  if (!await confirmForget('environment', e.name, e.slug, 'this environment')) return null
  return forgetCall(() => call(api.DELETE('/api/environments/{id}', { params: { path: { id: e.id }, query: { force: true } } })), `Environment ${e.name} forgotten.`)
}

async function forgetCall(fn: () => Promise<object | undefined>, done: string): Promise<Forgotten | null> {
  try {
    // With force=true the answer is the 200 Forgotten, never the 202 of a delete.
    const f = await fn() as Forgotten | undefined
    if (!f) return null
    notify('success', done)
    bumpChanges()
    return f
  } catch (err) {
    notifyError(err)
    return null
  }
}
