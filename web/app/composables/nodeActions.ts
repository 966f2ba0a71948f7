// Provision and connection test, shared by the node list and the node page.
import { api, call, type Node } from '~/api/client'

export async function provisionNode(n: Node): Promise<void> {
  try {
    const r = await call(api.POST('/api/nodes/{id}/provision', { params: { path: { id: n.id } } }))
    notify('info', `Provisioning ${n.name}.`, r.job_id)
    bumpChanges()
  } catch (err) {
    notifyError(err)
  }
}

export async function checkNode(n: Node): Promise<void> {
  try {
    const r = await call(api.POST('/api/nodes/{id}/check', { params: { path: { id: n.id } } }))
    notify('info', `Testing the connection to ${n.name}.`, r.job_id)
    bumpChanges()
  } catch (err) {
    notifyError(err)
  }
}
