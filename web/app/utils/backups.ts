// How backups, their schedules and the offsite target are shown: words for
// codes, sizes, what a failed upload means and what to do about it. Pure
// functions, so the rules are unit tested.
import { errorCodeText, humanize } from './format'

export interface PartLike {
  name: string
  size: number
  sha256: string
}

export interface BackupLike {
  id: string
  status: string
  location: string
  manifest: { parts: readonly PartLike[] } | null
}

const SCOPE_TEXT: Record<string, string> = { db: 'Database', files: 'Files', full: 'Database and files' }
const TRIGGER_TEXT: Record<string, string> = { manual: 'Manual', schedule: 'Scheduled', pre_restore: 'Before a restore', snapshot: 'Before a change (database)', pre_promote: 'Before a promotion' }
const LOCATION_TEXT: Record<string, string> = { node: 'Node', offsite: 'Offsite only', both: 'Node and offsite' }
const PART_TEXT: Record<string, string> = { 'manifest.json': 'Manifest', 'db.sql.zst': 'Database', 'files.tar.zst': 'Files' }

/** "full" → "Database and files". */
export function scopeLabel(scope: string): string {
  return SCOPE_TEXT[scope] ?? humanize(scope)
}

/** What a restore of a backup of this scope does to the target, as a sentence. */
export function restoreReplaces(scope: string, target: string): string {
  const what = scope === 'db' ? 'database is' : scope === 'files' ? 'files (wp-content and configuration) are' : 'database and files are'
  return `Its ${what} replaced by the backup’s, with URLs rewritten to ${target}’s.`
}

export function triggerLabel(trigger: string): string {
  return TRIGGER_TEXT[trigger] ?? humanize(trigger)
}

/** Where a backup lives; "" (not completed yet) is "—". */
export function locationLabel(location: string): string {
  return location ? LOCATION_TEXT[location] ?? humanize(location) : '—'
}

export function partLabel(part: string): string {
  return PART_TEXT[part] ?? part
}

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB']

/** 512 → "512 B", 1536 → "1.5 KiB", 5 GiB → "5.0 GiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return `${Math.max(0, Math.round(Number.isFinite(n) ? n : 0))} B`
  let v = n
  let unit = ''
  for (const u of UNITS) {
    v /= 1024
    unit = u
    if (v < 1024) break
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${unit}`
}

/** The path a part of a backup is downloaded from (the session cookie authenticates). */
export function downloadHref(backupId: string, part: string): string {
  return `/api/backups/${encodeURIComponent(backupId)}/download?part=${encodeURIComponent(part)}`
}

export interface Download {
  part: string
  label: string
  /** "" for the manifest, whose size is not recorded. */
  size: string
  href: string
}

/** The parts a completed backup offers for download: the manifest first, then its parts. */
export function downloads(b: BackupLike): Download[] {
  if (b.status !== 'completed' || !b.manifest) return []
  return [
    { part: 'manifest.json', label: partLabel('manifest.json'), size: '', href: downloadHref(b.id, 'manifest.json') },
    ...b.manifest.parts.map((p) => ({ part: p.name, label: partLabel(p.name), size: formatBytes(p.size), href: downloadHref(b.id, p.name) })),
  ]
}

export function canRestore(b: BackupLike): boolean {
  return b.status === 'completed'
}

/** Upload offsite is offered for a completed backup that is only on its node, once a target is set. */
export function canUpload(b: BackupLike, offsiteSet: boolean): boolean {
  return offsiteSet && b.status === 'completed' && b.location === 'node'
}

/** A backup still being taken cannot be deleted (the API answers resource_busy). */
export function canDelete(b: BackupLike): boolean {
  return b.status !== 'pending' && b.status !== 'running'
}

export function isBusy(b: { status: string }): boolean {
  return b.status === 'pending' || b.status === 'running'
}

/** Row counts per table, by table name. */
export function tableRows(tables: Record<string, number> | null | undefined): [string, number][] {
  return Object.entries(tables ?? {}).sort(([a], [b]) => a.localeCompare(b))
}

export interface OffsiteProblem {
  title: string
  advice: string
}

const OFFSITE_PROBLEMS: Record<string, OffsiteProblem> = {
  offsite_auth_failed: {
    title: 'The offsite storage refused the credentials',
    advice: 'Check the access key, the secret key, the region and the key’s permissions on the bucket under Settings → Offsite backups.',
  },
  offsite_unreachable: {
    title: 'The offsite storage did not answer',
    advice: 'Check the endpoint and whether it uses TLS under Settings → Offsite backups, and that the node can reach it.',
  },
  offsite_failed: {
    title: 'The offsite storage refused the upload or returned a damaged copy',
    advice: 'Check that the bucket exists and accepts uploads (Settings → Offsite backups, Test connection).',
  },
}

/** A failed upload of a backup, in words, with what to do; null when none failed. */
export function offsiteProblem(code: string): OffsiteProblem | null {
  if (!code) return null
  const kept = 'The copy on the node is kept; upload it again once fixed.'
  const known = OFFSITE_PROBLEMS[code]
  return known ? { title: known.title, advice: `${known.advice} ${kept}` } : { title: errorCodeText(code), advice: kept }
}

/** The answer of "Test connection" when it failed: a title by code and the server's message. */
export function offsiteTestProblem(code: string, message: string): OffsiteProblem {
  const known = OFFSITE_PROBLEMS[code]
  if (known) return { title: known.title, advice: message || known.advice }
  if (code === 'conflict') return { title: 'No offsite storage is saved yet', advice: 'Save the settings first, then test them.' }
  return { title: errorCodeText(code), advice: message }
}

export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']

export interface ScheduleLike {
  frequency: string
  minute: number
  hour: number
  weekday: number
  timezone: string
  keep_last: number
  keep_days: number
}

const pad = (n: number): string => String(n).padStart(2, '0')

/** "Every hour at :05", "Daily at 03:30 (Europe/Berlin)", "Weekly on Sunday at 03:30 (UTC)". */
export function scheduleSummary(s: ScheduleLike): string {
  if (s.frequency === 'hourly') return `Every hour at :${pad(s.minute)}`
  const at = `${pad(s.hour)}:${pad(s.minute)} (${s.timezone || 'UTC'})`
  if (s.frequency === 'weekly') return `Weekly on ${WEEKDAYS[s.weekday] ?? `day ${s.weekday}`} at ${at}`
  return `Daily at ${at}`
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

/** What retention keeps: the last N scheduled backups, those younger than N days, or either. */
export function retentionSummary(keepLast: number, keepDays: number): string {
  const parts: string[] = []
  if (keepLast > 0) parts.push(keepLast === 1 ? 'the last scheduled backup' : `the last ${keepLast} scheduled backups`)
  if (keepDays > 0) parts.push(`every scheduled backup younger than ${plural(keepDays, 'day', 'days')}`)
  if (!parts.length) return 'Keeps every scheduled backup.'
  return `Keeps ${parts.join(' and ')}. Manual backups stay until deleted; the newest completed backup is always kept.`
}

/** The browser's IANA time zone, the default for a new schedule. */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
  } catch {
    return 'UTC'
  }
}

/** A whole number typed into a field, or null when it is not one. */
export function wholeNumber(v: unknown): number | null {
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : ''
  return /^\d{1,6}$/.test(s) ? Number(s) : null
}
