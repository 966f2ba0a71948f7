// How drift checks and promotions are shown: presets in words, a drift
// check's changes as a readable list, the gates and which promote button
// they allow, and what a promotion job did. Pure functions, so the rules
// are unit tested.
import { humanize, type Tone } from './format'

export interface PresetInfo {
  value: 'content-protect' | 'commerce-protect' | 'custom'
  label: string
  text: string
}

export const PRESETS: readonly PresetInfo[] = [
  { value: 'content-protect', label: 'Content', text: 'Posts, pages, terms, comments and users stay as they are on the target.' },
  { value: 'commerce-protect', label: 'Commerce', text: 'Content, plus WooCommerce orders, customers and sessions (wc_* and woocommerce_* tables).' },
  { value: 'custom', label: 'Custom', text: 'Only the tables listed below stay as they are.' },
]

/** Tables typed into one field, separated by commas, spaces or lines; duplicates dropped. */
export function parseTables(text: string): string[] {
  const out: string[] = []
  for (const t of text.split(/[\s,]+/)) {
    if (t && !out.includes(t)) out.push(t)
  }
  return out
}

/** "wp_posts, wp_users and uploads": what a promotion leaves alone, uploads always among it. */
export function protectedText(patterns: readonly string[] | null | undefined): string {
  const list = patterns ?? []
  return list.length ? `${list.join(', ')} and uploads` : 'uploads only'
}

const DRIFT: Record<string, { label: string, tone: Tone }> = {
  clean: { label: 'no drift', tone: 'ok' },
  drifted: { label: 'drifted', tone: 'bad' },
  unknown: { label: 'drift not checked', tone: 'muted' },
}

/** An environment's drift_status as a badge. */
export function driftView(status: string): { label: string, tone: Tone } {
  return DRIFT[status] ?? { label: status ? `drift ${status}` : 'drift not checked', tone: 'neutral' }
}

export interface ChangeLike {
  kind: string
  name: string
  change: string
  from?: string
  to?: string
}

export interface ChangeRow {
  /** The table, "Plugin akismet", or the wp-content path. */
  label: string
  change: string
  /** Versions for a component ("5.0 → 5.3.3"), "" otherwise. */
  detail: string
}

export interface ChangeGroup {
  kind: 'table' | 'component' | 'path'
  title: string
  rows: ChangeRow[]
}

const GROUPS: readonly { kind: ChangeGroup['kind'], title: string }[] = [
  { kind: 'table', title: 'Tables' },
  { kind: 'component', title: 'Plugins, themes and WordPress' },
  { kind: 'path', title: 'Files in wp-content' },
]

/** "plugin/akismet" → "Plugin akismet", "core" → "WordPress". */
export function componentLabel(name: string): string {
  if (name === 'core') return 'WordPress'
  const [type, slug] = name.split('/', 2)
  if (!slug) return name
  return `${humanize(type ?? '')} ${slug}`
}

function versions(c: ChangeLike): string {
  if (c.kind !== 'component') return ''
  if (c.change === 'changed') return `${c.from || '?'} → ${c.to || '?'}`
  if (c.change === 'added') return c.to ?? ''
  return c.from ?? ''
}

/** A drift check's changes grouped by kind, in the order tables, components, paths; empty groups left out. */
export function changeGroups(changes: readonly ChangeLike[] | null | undefined): ChangeGroup[] {
  const list = changes ?? []
  const out: ChangeGroup[] = []
  for (const g of GROUPS) {
    const rows = list.filter((c) => c.kind === g.kind).map((c) => ({
      label: c.kind === 'component' ? componentLabel(c.name) : c.name,
      change: c.change,
      detail: versions(c),
    }))
    if (rows.length) out.push({ ...g, rows })
  }
  const other = list.filter((c) => !GROUPS.some((g) => g.kind === c.kind))
  if (other.length) out.push({ kind: 'path', title: 'Other', rows: other.map((c) => ({ label: `${c.kind} ${c.name}`, change: c.change, detail: '' })) })
  return out
}

export function changeTone(change: string): Tone {
  return change === 'removed' ? 'bad' : change === 'added' ? 'ok' : 'warn'
}

/** "3 changes: 1 table, 2 plugins or themes". */
export function changeSummary(changes: readonly ChangeLike[] | null | undefined): string {
  const list = changes ?? []
  if (!list.length) return 'No changes outside the protected tables.'
  const n = (kind: string) => list.filter((c) => c.kind === kind).length
  const parts = [
    [n('table'), 'table', 'tables'],
    [n('component'), 'plugin, theme or core version', 'plugins, themes or core versions'],
    [n('path'), 'path', 'paths'],
  ].filter(([c]) => (c as number) > 0).map(([c, one, many]) => `${c} ${c === 1 ? one : many}`)
  return `${list.length} ${list.length === 1 ? 'change' : 'changes'}: ${parts.join(', ')}.`
}

export interface GateLike {
  ok: boolean
  code?: string
  message: string
}

export type PromoteMode = 'promote' | 'backup_first' | 'blocked'

/**
 * Which promote button the gates allow: a plain promotion when both pass,
 * "back up and promote" when only the backup is missing, none while the
 * drift gate fails (a backup cannot fix drift).
 */
export function promoteMode(g: { drift: GateLike, backup: GateLike }, envStatus: string, targetStatus: string): PromoteMode {
  if (envStatus !== 'active' || targetStatus !== 'active' || !g.drift.ok) return 'blocked'
  return g.backup.ok ? 'promote' : 'backup_first'
}

/** The points of the confirmation: what moves into the target and what stays. */
export function promotePoints(o: { source: string, target: string, sourceUrl: string, targetUrl: string, protectedList: readonly string[], backupFirst: boolean }): string[] {
  const points: string[] = []
  if (o.backupFirst) points.push(`A full backup of ${o.target} is taken first.`)
  points.push(`Code: the plugins, themes and mu-plugins of ${o.source} become a new release of ${o.target}. WordPress core stays ${o.target}’s.`)
  points.push(`Database: every table of ${o.source} except the protected ones replaces ${o.target}’s, with ${o.sourceUrl || o.source + '’s address'} rewritten to ${o.targetUrl || o.target + '’s address'}.`)
  points.push(`Kept as they are on ${o.target}: ${protectedText(o.protectedList)}.`)
  points.push(`A database snapshot is taken first; if ${o.target} then fails its health check, its previous release and database are put back.`)
  return points
}

export interface PromotionOutcome {
  tone: 'success' | 'warning' | 'error'
  title: string
  moved: string[]
  protectedTables: string[]
  rewritten: number | null
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : []
}

/** What a finished env_promote job did: the tables moved and kept, or that it was rolled back. */
export function promotionOutcome(j: { status: string, rolled_back?: boolean, error_message: string, result: Record<string, unknown> | null | undefined }): PromotionOutcome | null {
  const r = j.result ?? {}
  const sr = r.search_replace && typeof r.search_replace === 'object' ? r.search_replace as Record<string, unknown> : null
  const base = { moved: strings(r.moved_tables), protectedTables: strings(r.protected_tables), rewritten: typeof sr?.cells === 'number' ? sr.cells : null }
  if (j.status === 'succeeded') return { ...base, tone: 'success', title: 'Promoted.' }
  if (j.status === 'failed' && j.rolled_back) {
    return { ...base, tone: 'warning', title: `Rolled back: the previous release and database are served again. ${j.error_message}`.trim() }
  }
  if (j.status === 'failed') return { ...base, tone: 'error', title: `The promotion failed. ${j.error_message}`.trim() }
  if (j.status === 'cancelled') return { ...base, tone: 'warning', title: 'The promotion was cancelled.' }
  return null
}

/** The steps of a promotion job in order, for its progress list. */
export const PROMOTE_STEPS: readonly { step: string, label: string }[] = [
  { step: 'backup', label: 'Full backup of the target' },
  { step: 'snapshot', label: 'Database snapshot' },
  { step: 'drift', label: 'Last drift check' },
  { step: 'build', label: 'New release with the code' },
  { step: 'database', label: 'Tables moved, URLs rewritten' },
  { step: 'switch', label: 'Release switched' },
  { step: 'health_check', label: 'Health check' },
  { step: 'rollback', label: 'Rolled back' },
]

export type StepState = 'done' | 'running' | 'failed' | 'pending' | 'skipped'

export interface StepView {
  step: string
  label: string
  state: StepState
  message: string
}

/**
 * The promotion's steps as the job's events show them: a step with events
 * is done (or failed on an error), the newest one of a running job runs.
 * The backup and rollback steps appear only when they happened; once the
 * job ended, a step without events was skipped (a retry skips the drift check).
 */
export function promoteSteps(status: string, events: readonly { step: string, level: string, message: string }[], backupFirst: boolean): StepView[] {
  const seen = events.filter((e) => PROMOTE_STEPS.some((s) => s.step === e.step))
  const last = seen[seen.length - 1]?.step
  const running = status === 'queued' || status === 'running'
  return PROMOTE_STEPS.filter((s) => (s.step === 'backup' ? backupFirst || seen.some((e) => e.step === 'backup') : s.step !== 'rollback' || seen.some((e) => e.step === 'rollback')))
    .map((s) => {
      const mine = seen.filter((e) => e.step === s.step)
      const lastEvent = mine[mine.length - 1]
      let state: StepState = running ? 'pending' : 'skipped'
      if (mine.length) state = mine.some((e) => e.level === 'error') ? 'failed' : running && s.step === last ? 'running' : 'done'
      return { step: s.step, label: s.label, state, message: lastEvent?.message ?? '' }
    })
}

const STEP_TONE: Record<StepState, Tone> = { done: 'ok', running: 'busy', failed: 'bad', pending: 'muted', skipped: 'muted' }

export function stepTone(s: StepState): Tone {
  return STEP_TONE[s]
}
