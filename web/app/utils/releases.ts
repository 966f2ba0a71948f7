// How releases, deploys, updates and rollbacks are shown: words for sources
// and health, which database snapshot a rollback would restore, what a
// failed release job means and what to do about it. Pure functions, so the
// rules are unit tested.
import { errorCodeText, humanize, type Tone } from './format'

export interface ReleaseLike {
  id: string
  source: string
  ref: string
  path: string
  health: string
  snapshot_id: string
  current: boolean
}

const SOURCE_TEXT: Record<string, string> = {
  initial: 'Site created', restore: 'Backup restored', git: 'Git', archive: 'Archive', update: 'Update', rollback: 'Rollback',
  promote: 'Promotion',
}
const HEALTH: Record<string, { label: string, tone: Tone }> = {
  healthy: { label: 'healthy', tone: 'ok' },
  unhealthy: { label: 'unhealthy', tone: 'bad' },
  unknown: { label: 'not checked', tone: 'muted' },
}

export function sourceLabel(source: string): string {
  return SOURCE_TEXT[source] ?? humanize(source)
}

export function healthView(health: string): { label: string, tone: Tone } {
  return HEALTH[health] ?? { label: health || 'not checked', tone: 'neutral' }
}

/** The release's directory name under releases/, which the node and the job events use. */
export function releaseDir(path: string): string {
  const parts = path.split('/').filter(Boolean)
  return parts[parts.length - 1] ?? path
}

/** What a release was made from, short: a commit cut to 12 characters, a backup by its short id. */
export function refText(r: { source: string, ref: string }): string {
  if (!r.ref) return '—'
  if (r.source === 'git' && /^[0-9a-f]{40,64}$/.test(r.ref)) return r.ref.slice(0, 12)
  if (r.source === 'restore') return `backup ${r.ref.slice(0, 8)}`
  return r.ref
}

/**
 * The database snapshot a rollback to releases[index] would restore: the one
 * taken when the release after it replaced it (the list is newest first);
 * "" when none is kept, and for the current release.
 */
export function rollbackSnapshot(releases: readonly ReleaseLike[], index: number): string {
  const r = releases[index]
  if (!r || r.current || index === 0) return ''
  return releases[index - 1]?.snapshot_id ?? ''
}

export function canRollBack(r: ReleaseLike, envStatus: string): boolean {
  return !r.current && envStatus === 'active'
}

export type RollbackMode = 'files' | 'database'

/** The rollback request for an explicit choice; the API refuses one without restore_database. */
export function rollbackBody(releaseId: string, mode: RollbackMode): { release_id: string, restore_database: boolean } {
  return { release_id: releaseId, restore_database: mode === 'database' }
}

// A type, not an interface: the form composable takes it as a record.
export type DeployValues = {
  // upload: the archive is the request's body (see utils/upload.ts)
  source_type: 'git' | 'archive' | 'upload'
  repository: string
  source_ref: string
  archive_url: string
}

/** The deploy request for the form: only the fields of the chosen source, trimmed. */
export function deployBody(v: DeployValues): { source_type: 'git' | 'archive', repository?: string, source_ref?: string, archive_url?: string } {
  if (v.source_type === 'git') return { source_type: 'git', repository: v.repository.trim(), source_ref: v.source_ref.trim() }
  return { source_type: 'archive', archive_url: v.archive_url.trim() }
}

/** "main of git@host:owner/repo.git", or the archive URL: what a notice says is being deployed. */
export function deployLabel(v: DeployValues): string {
  if (v.source_type === 'git') return `${v.source_ref.trim()} of ${v.repository.trim()}`
  return v.archive_url.trim()
}

/** What an update request asks for, per row of the updates table. */
export function updateBody(item: { type: string, slug: string }, packageUrl = ''): { scope: 'core' | 'plugins' | 'themes', items?: string[], package_url?: string } {
  const body: { scope: 'core' | 'plugins' | 'themes', items?: string[], package_url?: string } =
    item.type === 'core' ? { scope: 'core' } : { scope: item.type === 'theme' ? 'themes' : 'plugins', items: [item.slug] }
  if (packageUrl.trim()) body.package_url = packageUrl.trim()
  return body
}

/** body, asking to try the update on a temporary copy first when onClone is set (the field is left out otherwise). */
export function verifiedOnClone<T extends object>(body: T, onClone: boolean): T & { verify_on_clone?: boolean } {
  return onClone ? { ...body, verify_on_clone: true } : body
}

const TYPE_TEXT: Record<string, string> = { core: 'WordPress', plugin: 'Plugin', theme: 'Theme' }

export function installedTypeLabel(type: string): string {
  return TYPE_TEXT[type] ?? humanize(type)
}

/** The "available" column: a version, "up to date", or "unknown" when wordpress.org could not be asked. */
export function availableText(available: string, checked: boolean): string {
  if (available) return available
  return checked ? 'up to date' : 'unknown'
}

/** "plugin akismet" / "WordPress" for notices. */
export function itemLabel(item: { type: string, slug: string, name: string }): string {
  if (item.type === 'core') return 'WordPress'
  return `${item.type} ${item.name || item.slug}`
}

/** Health check paths typed one per line: trimmed, blank lines dropped. */
export function parsePaths(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter(Boolean)
}

export interface ReleaseProblem {
  title: string
  advice: string
}

const UNTOUCHED = 'Nothing was switched: the site serves what it served before.'

const PROBLEMS: Record<string, ReleaseProblem> = {
  health_check_failed: {
    title: 'The new release failed its health check',
    advice: 'The home page or an extra path did not answer 200, showed a PHP error, or WordPress could not reach its database. Check the job’s events for which.',
  },
  snapshot_unavailable: {
    title: 'No database snapshot of that release is kept',
    advice: 'Roll back the files only, or restore a backup of the database from the Backups panel.',
  },
  git_ref_not_found: {
    title: 'The branch, tag or commit does not exist in the repository',
    advice: `Check the spelling and that it was pushed. ${UNTOUCHED}`,
  },
  git_unreachable: {
    title: 'The repository could not be reached',
    advice: `Check its URL and that the node can reach the host; a host on a private address needs “Allow private sources” under Settings → Releases. ${UNTOUCHED}`,
  },
  git_auth_failed: {
    title: 'The repository refused access',
    advice: `Add the site’s deploy key to the repository as a read-only deploy key and use its SSH URL (git@host:owner/repo.git). ${UNTOUCHED}`,
  },
  archive_too_large: {
    title: 'The archive is larger than allowed',
    advice: `Leave out uploads, caches and build leftovers: a deploy carries wp-content/ without uploads. ${UNTOUCHED}`,
  },
  unsafe_archive: {
    title: 'The archive holds unsafe entries',
    advice: `Paths that leave the archive, absolute paths, links pointing outside and device files are refused. ${UNTOUCHED}`,
  },
  wp_content_missing: {
    title: 'The source holds no wp-content/ at its root',
    advice: `Put themes, plugins and mu-plugins under wp-content/ at the root of the repository or archive. ${UNTOUCHED}`,
  },
  address_not_allowed: {
    title: 'The source is on a private, loopback or link-local address',
    advice: `Turn on “Allow private sources” under Settings → Releases if that is intended. ${UNTOUCHED}`,
  },
  download_failed: {
    title: 'The download failed',
    advice: `Check that the URL answers from the node. ${UNTOUCHED}`,
  },
  update_unavailable: {
    title: 'No update is available for that item',
    advice: 'Check for updates again, or update from a package URL.',
  },
  update_failed: {
    title: 'WordPress’s upgrader failed',
    advice: `The job’s events hold its message. ${UNTOUCHED}`,
  },
}

/** A release error code in words with what to do; unknown codes fall back to the general words. */
export function releaseProblem(code: string, message = ''): ReleaseProblem {
  return PROBLEMS[code] ?? { title: errorCodeText(code), advice: message }
}

export const RELEASE_JOBS: ReadonlySet<string> = new Set(['env_deploy', 'env_update', 'release_rollback', 'env_promote'])

export interface RollbackJobLike {
  type?: string
  status: string
  rolled_back?: boolean
  events?: readonly { step: string, level: string }[]
}

/**
 * Whether a failed deploy, update or rollback put the previous release and
 * database back: its "rollback" step ended with an info event. Such a job
 * failed, but the site is not broken.
 */
export function rolledBack(j: RollbackJobLike): boolean {
  if (j.status !== 'failed') return false
  // The API says so (lists carry no events); older jobs tell by their events.
  if (j.rolled_back) return true
  return RELEASE_JOBS.has(j.type ?? '') && !!j.events?.some((e) => e.step === 'rollback' && e.level === 'info')
}

export interface LastChange {
  tone: 'warning' | 'error'
  title: string
  note: string
}

/**
 * How an environment's last_error is shown: a failed environment is broken;
 * an active one with an error had its last change undone or never switched.
 */
export function lastChange(status: string): LastChange {
  if (status === 'failed') return { tone: 'error', title: 'Last error:', note: '' }
  return { tone: 'warning', title: 'The last change did not go through:', note: 'The environment serves what it served before.' }
}
