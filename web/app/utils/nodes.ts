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
