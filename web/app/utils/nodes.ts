// Node display rules.
export interface NodeLike {
  status: string
  ssh_user: string
  host: string
  ssh_port: number
}

/** The provision button's label, or "" when provisioning is not offered. */
export function provisionLabel(status: string): string {
  if (status === 'pending' || status === 'failed') return 'Provision'
  if (status === 'provisioning' || status === 'decommissioned') return ''
  return 'Re-provision'
}

/** "deploy@203.0.113.10:2222" (port only when not 22). */
export function sshTarget(n: NodeLike): string {
  return `${n.ssh_user || 'root'}@${n.host}${n.ssh_port && n.ssh_port !== 22 ? `:${n.ssh_port}` : ''}`
}

/** What removing a resource offers, by the status of its node. */
export interface RemovalActions {
  /** Delete: the node removes it (a job). */
  delete: boolean
  /** Forget: the control plane drops it without contacting the node. */
  forget: boolean
}

/**
 * An unreachable or decommissioned node cannot remove anything: its
 * resources are forgotten instead of deleted. A failed node may be gone too;
 * both are offered there, and the API refuses a forget while it answers.
 */
export function removalActions(nodeStatus: string | undefined): RemovalActions {
  if (nodeStatus === 'unreachable' || nodeStatus === 'decommissioned') return { delete: false, forget: true }
  if (nodeStatus === 'failed') return { delete: true, forget: true }
  return { delete: true, forget: false }
}
