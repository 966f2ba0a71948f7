// How a job's state, timing and result are shown. Pure functions, so the
// rules (retries, cancellation, result notes) are unit tested.
import { formatDuration, formatTime, humanize, statusTone, type Tone } from './format'
import { rolledBack } from './releases'

export interface JobLike {
  status: string
  attempt: number
  max_attempts: number
  run_after: string
  cancel_requested: boolean
  error_code: string
  error_message: string
  created_at: string
  started_at: string | null
  finished_at: string | null
  /** With its events a failed release job tells whether it rolled back. */
  type?: string
  events?: readonly { step: string, level: string }[]
}

export interface EventLike {
  time: string
  step: string
}

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled'])

export function isTerminal(status: string): boolean {
  return TERMINAL.has(status)
}

export interface JobState {
  label: string
  tone: Tone
  /** A queued job whose last attempt failed and that will run again. */
  retrying: boolean
}

export function jobState(j: JobLike): JobState {
  if (j.cancel_requested && !isTerminal(j.status)) return { label: 'cancelling', tone: 'warn', retrying: false }
  if (j.status === 'queued' && j.attempt > 0 && j.error_code) return { label: 'waiting to retry', tone: 'warn', retrying: true }
  if (rolledBack(j)) return { label: 'rolled back', tone: 'warn', retrying: false }
  return { label: j.status, tone: statusTone(j.status), retrying: false }
}

export type Problem = { tone: 'warning' | 'error', title: string, message: string } | null

/** The error box of a job: a warning while it waits to retry, an error once it failed. */
export function jobProblem(j: JobLike, codeText: (c: string) => string): Problem {
  if (!j.error_code && !j.error_message) return null
  const what = j.error_code ? codeText(j.error_code) : 'Error'
  if (rolledBack(j)) return { tone: 'warning', title: `Rolled back: ${what}`, message: j.error_message }
  if (j.status === 'failed') return { tone: 'error', title: what, message: j.error_message }
  if (jobState(j).retrying) {
    return {
      tone: 'warning',
      title: `Attempt ${j.attempt} of ${j.max_attempts} failed: ${what}`,
      message: `${j.error_message} It runs again after ${formatTime(j.run_after)}.`.trim(),
    }
  }
  if (j.status === 'cancelled') return { tone: 'warning', title: 'Cancelled', message: j.error_message }
  return null
}

function ms(iso: string | null | undefined): number | null {
  if (!iso) return null
  const t = new Date(iso).getTime()
  return Number.isNaN(t) ? null : t
}

export interface Span {
  /** When the first attempt started (ISO), or null before. */
  start: string | null
  /** Seconds from the first attempt's start to the end (or now while unfinished). */
  seconds: number | null
}

/**
 * The job's run time over all its attempts. started_at is the start of the
 * latest attempt, so with events the first event's time is the real start
 * (the "queued" event is written at enqueue, before any attempt).
 */
export function jobSpan(j: JobLike, events: readonly EventLike[] = [], now: number = Date.now()): Span {
  let start = ms(j.started_at)
  let startIso = j.started_at
  for (const e of events) {
    if (e.step === 'queued') continue
    const t = ms(e.time)
    if (t !== null && (start === null || t < start)) {
      start = t
      startIso = e.time
    }
  }
  if (start === null) return { start: null, seconds: null }
  const end = ms(j.finished_at) ?? (isTerminal(j.status) ? null : now)
  if (end === null) return { start: startIso, seconds: null }
  return { start: startIso, seconds: Math.max(0, (end - start) / 1000) }
}

/** The duration column of a job list (no events there). */
export function listDuration(j: JobLike, now: number = Date.now()): string {
  if (!j.started_at || j.status === 'queued') return ''
  const s = jobSpan(j, [], now).seconds
  if (s === null) return ''
  return j.attempt > 1 ? `${formatDuration(s)} (attempt ${j.attempt})` : formatDuration(s)
}

export interface ResultRow {
  label: string
  value: string
}

export interface ResultView {
  rows: ResultRow[]
  notes: string[]
}

const RESULT_LABELS: Record<string, string> = {
  release_id: 'Release',
  wp_version: 'WordPress',
  php_version: 'PHP',
  db_ok: 'Database reachable',
  siteurl: 'Site URL',
  home: 'Home URL',
  title_html: 'Site title',
  already_installed: 'Already installed',
  copied: 'Copied',
  installed: 'Installed',
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return '—'
  if (typeof v === 'boolean') return v ? 'yes' : 'no'
  if (typeof v === 'string') return v === '' ? '—' : v
  if (typeof v === 'number') return String(v)
  if (Array.isArray(v)) return v.length ? v.map(scalar).join(', ') : 'none'
  return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${humanize(k).toLowerCase()}: ${scalar(x)}`).join('; ')
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}

/** A job's result object as labelled rows, with notes for what needs attention. */
export function describeResult(result: Record<string, unknown> | null | undefined): ResultView {
  const view: ResultView = { rows: [], notes: [] }
  if (!result || typeof result !== 'object') return view
  for (const [key, value] of Object.entries(result)) {
    if (key === 'search_replace' && value && typeof value === 'object' && !Array.isArray(value)) {
      const sr = value as Record<string, unknown>
      const hosts = Array.isArray(sr.hosts) ? sr.hosts.map(String) : []
      view.rows.push({ label: 'Rewritten hosts', value: hosts.length ? hosts.join(', ') : 'none' })
      view.rows.push({ label: 'Rewritten values', value: plural(num(sr.cells), 'value', 'values') })
      const bad = num(sr.unparseable)
      if (bad > 0) {
        view.rows.push({ label: 'Unparseable values', value: String(bad) })
        view.notes.push(`${plural(bad, 'value', 'values')} could not be parsed and may still point at the source.`)
      }
      continue
    }
    view.rows.push({ label: RESULT_LABELS[key] ?? humanize(key), value: scalar(value) })
  }
  return view
}
