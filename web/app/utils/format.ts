// Formatting of times, durations, statuses and codes for people: local time,
// words instead of codes.

export type Tone = 'ok' | 'busy' | 'warn' | 'bad' | 'muted' | 'neutral'

const TONES: Record<string, Tone> = {
  active: 'ok', succeeded: 'ok', success: 'ok', info: 'neutral',
  running: 'busy', creating: 'busy', provisioning: 'busy', deleting: 'busy', deploying: 'busy', updating: 'busy',
  restoring: 'busy', promoting: 'busy', cloning: 'busy', cancelling: 'warn',
  queued: 'neutral', pending: 'warn', warn: 'warn', retrying: 'warn',
  failed: 'bad', failure: 'bad', unreachable: 'bad', error: 'bad',
  cancelled: 'muted', deleted: 'muted', decommissioned: 'muted',
  completed: 'ok', expired: 'muted',
}

export function statusTone(status: string): Tone {
  return TONES[status] ?? 'neutral'
}

/** "node_provision" → "Node provision". */
export function humanize(code: string): string {
  const s = code.replaceAll('_', ' ').replaceAll('-', ' ').trim()
  return s ? s[0]!.toUpperCase() + s.slice(1) : ''
}

function toDate(iso: string | null | undefined): Date | null {
  if (!iso) return null
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? null : d
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })

/** Local date and time, e.g. "29 Nov 2026, 18:04"; "" for no time. */
export function formatTime(iso: string | null | undefined): string {
  const d = toDate(iso)
  return d ? dateTime.format(d) : ''
}

/** Local time of day with seconds, for event logs. */
export function formatClock(iso: string | null | undefined): string {
  const d = toDate(iso)
  return d ? timeOnly.format(d) : ''
}

/** "just now", "5 min ago", "in 2 h", "3 days ago". */
export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  const d = toDate(iso)
  if (!d) return ''
  const diff = Math.round((d.getTime() - now) / 1000)
  const abs = Math.abs(diff)
  if (abs < 45) return 'just now'
  let text: string
  if (abs < 3600) text = `${Math.round(abs / 60)} min`
  else if (abs < 86400) text = `${Math.round(abs / 3600)} h`
  else {
    const days = Math.round(abs / 86400)
    text = `${days} ${days === 1 ? 'day' : 'days'}`
  }
  return diff < 0 ? `${text} ago` : `in ${text}`
}

/** 75 → "1 min 15 s", 4000 → "1 h 6 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`
  const h = Math.floor(m / 60)
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`
}

const ERROR_TEXT: Record<string, string> = {
  node_unreachable: 'The node could not be reached',
  node_not_active: 'The node is not active',
  host_key_mismatch: 'The node’s SSH host key changed',
  ssh_auth_failed: 'The node refused the control plane’s SSH key',
  ansible_host_failed: 'A step on the node failed',
  ansible_syntax_error: 'A playbook could not be read',
  ansible_failed: 'The configuration run failed',
  job_timeout: 'The job ran out of time',
  job_cancelled: 'The job was cancelled',
  worker_lost: 'The worker running the job stopped',
  health_check_failed: 'The site did not answer its health check',
  wp_error: 'WordPress reported an error',
  resource_busy: 'Another job is still running',
  internal: 'Internal error',
  not_implemented: 'Not available yet',
  checksum_mismatch: 'A backup part does not match its checksum',
  insufficient_space: 'Not enough disk space on the node',
  offsite_auth_failed: 'The offsite storage refused the credentials',
  offsite_unreachable: 'The offsite storage did not answer',
  offsite_failed: 'The offsite storage failed',
  unsafe_archive: 'The archive holds unsafe paths',
  backup_in_use: 'A restore uses this backup',
  backup_unavailable: 'No copy of the backup is reachable',
  snapshot_unavailable: 'No database snapshot of that release is kept',
  git_ref_not_found: 'The branch, tag or commit does not exist',
  git_unreachable: 'The repository could not be reached',
  git_auth_failed: 'The repository refused access',
  archive_too_large: 'The archive is larger than allowed',
  wp_content_missing: 'The source holds no wp-content/',
  address_not_allowed: 'The source is on a private address',
  download_failed: 'The download failed',
  update_unavailable: 'No update is available',
  update_failed: 'WordPress’s upgrader failed',
  drift_not_clean: 'No clean, recent drift check',
  backup_not_fresh: 'No fresh full backup of the target',
  baseline_missing: 'No record of the source at copy time',
  promotion_invalid: 'That promotion is not possible',
}

/** A job error code in words. */
export function errorCodeText(code: string): string {
  return ERROR_TEXT[code] ?? humanize(code)
}

const JOB_TEXT: Record<string, string> = {
  node_provision: 'Provision node',
  node_check: 'Test node connection',
  site_create: 'Create site',
  site_delete: 'Delete site',
  env_create: 'Create environment',
  env_delete: 'Delete environment',
  backup_create: 'Take backup',
  backup_upload: 'Upload backup offsite',
  backup_delete: 'Delete backup',
  backup_cleanup: 'Remove expired backups',
  env_restore: 'Restore environment',
  env_deploy: 'Deploy',
  env_update: 'Update',
  release_rollback: 'Roll back release',
  drift_check: 'Check drift',
  env_promote: 'Promote',
  noop: 'No-op',
}

/** A job type in words; types added to the API later fall back to their code. */
export function jobTypeLabel(type: string): string {
  return JOB_TEXT[type] ?? humanize(type)
}

/** The first 8 characters of an id, for compact display. */
export function shortId(id: string): string {
  return id.slice(0, 8)
}

/** "source_environment_id must be an id." → "Copy from must be an id." */
export function fieldMessage(message: string, field: string, label: string): string {
  if (!field) return message
  const escaped = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return message.replace(new RegExp(`\\b${escaped}\\b`, 'g'), label)
}

/** "Acme Corp!" → "acme-corp", cut to max characters, valid as a slug where possible. */
export function slugify(name: string, max: number): string {
  let s = name.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-').replace(/^[^a-z]+/, '').slice(0, max).replace(/-+$/, '')
  s = s.replace(/-{2,}/g, '-')
  return s
}

/** "job_cancelled: Cancelled before it started." → "The job was cancelled: Cancelled before it started." */
export function problemText(text: string, codes: readonly string[]): string {
  const m = /^([a-z][a-z0-9_]*): (.*)$/s.exec(text)
  return m && codes.includes(m[1]!) ? `${errorCodeText(m[1]!)}: ${m[2]}` : text
}
