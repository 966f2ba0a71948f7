import { describe, expect, it } from 'vitest'
import { errorCodeText } from '~/utils/format'
import { describeResult, jobProblem, jobSpan, jobState, listDuration, type JobLike } from '~/utils/jobs'

function job(over: Partial<JobLike> = {}): JobLike {
  return {
    status: 'succeeded', attempt: 1, max_attempts: 3, run_after: '2026-11-29T12:00:00Z', cancel_requested: false,
    error_code: '', error_message: '', created_at: '2026-11-29T12:00:00Z',
    started_at: '2026-11-29T12:00:00Z', finished_at: '2026-11-29T12:00:48Z', ...over,
  }
}

describe('jobState', () => {
  it('shows a queued job whose attempt failed as waiting to retry', () => {
    expect(jobState(job({ status: 'queued', attempt: 1, error_code: 'node_unreachable', finished_at: null }))).toEqual({ label: 'waiting to retry', tone: 'warn', retrying: true })
  })
  it('shows a fresh queued job as queued', () => {
    expect(jobState(job({ status: 'queued', attempt: 0, started_at: null, finished_at: null }))).toMatchObject({ label: 'queued', retrying: false })
  })
  it('shows a running job asked to stop as cancelling', () => {
    expect(jobState(job({ status: 'running', cancel_requested: true }))).toMatchObject({ label: 'cancelling', tone: 'warn' })
  })
  it('keeps terminal states', () => {
    expect(jobState(job({ status: 'failed', cancel_requested: true })).label).toBe('failed')
    expect(jobState(job()).tone).toBe('ok')
  })
})

describe('jobProblem', () => {
  it('is a warning with the retry time while the job waits to retry', () => {
    const p = jobProblem(job({ status: 'queued', attempt: 1, error_code: 'node_unreachable', error_message: 'No answer.', finished_at: null }), errorCodeText)
    expect(p?.tone).toBe('warning')
    expect(p?.title).toBe('Attempt 1 of 3 failed: The node could not be reached')
    expect(p?.message).toMatch(/^No answer\. It runs again after /)
  })
  it('is an error once the job failed', () => {
    expect(jobProblem(job({ status: 'failed', error_code: 'job_timeout', error_message: 'Took too long.' }), errorCodeText))
      .toEqual({ tone: 'error', title: 'The job ran out of time', message: 'Took too long.' })
  })
  it('is nothing for a clean job', () => {
    expect(jobProblem(job(), errorCodeText)).toBeNull()
  })
})

describe('jobSpan', () => {
  it('counts from the first attempt, which started_at no longer shows after a retry', () => {
    const j = job({ attempt: 2, started_at: '2026-11-29T12:01:14Z', finished_at: '2026-11-29T12:01:15Z' })
    const events = [{ time: '2026-11-29T11:50:00Z', step: 'queued' }, { time: '2026-11-29T12:00:00Z', step: 'copy' }, { time: '2026-11-29T12:01:15Z', step: 'done' }]
    expect(jobSpan(j, events)).toEqual({ start: '2026-11-29T12:00:00Z', seconds: 75 })
    expect(jobSpan(j).seconds).toBe(1)
  })
  it('runs up to now while the job runs', () => {
    const j = job({ status: 'running', finished_at: null })
    expect(jobSpan(j, [], Date.parse('2026-11-29T12:00:30Z')).seconds).toBe(30)
  })
  it('is empty before the job started', () => {
    expect(jobSpan(job({ status: 'queued', started_at: null, finished_at: null }))).toEqual({ start: null, seconds: null })
  })
})

describe('listDuration', () => {
  it('names the attempt when the duration covers only the last one', () => {
    expect(listDuration(job())).toBe('48 s')
    expect(listDuration(job({ attempt: 2, started_at: '2026-11-29T12:00:40Z' }))).toBe('8 s (attempt 2)')
    expect(listDuration(job({ status: 'queued', attempt: 1, error_code: 'x' }))).toBe('')
  })
})

describe('describeResult', () => {
  it('reads an env_create result with unparseable values', () => {
    const v = describeResult({ release_id: 'r1', copied: true, search_replace: { hosts: ['a.example', 'b.example'], cells: 1841, unparseable: 3 } })
    expect(v.rows).toEqual([
      { label: 'Release', value: 'r1' },
      { label: 'Copied', value: 'yes' },
      { label: 'Rewritten hosts', value: 'a.example, b.example' },
      { label: 'Rewritten values', value: '1841 values' },
      { label: 'Unparseable values', value: '3' },
    ])
    expect(v.notes).toEqual(['3 values could not be parsed and may still point at the source.'])
  })
  it('adds no note when every value was parsed', () => {
    const v = describeResult({ search_replace: { hosts: [], cells: 1, unparseable: 0 } })
    expect(v.notes).toEqual([])
    expect(v.rows).toContainEqual({ label: 'Rewritten values', value: '1 value' })
    expect(v.rows).toContainEqual({ label: 'Rewritten hosts', value: 'none' })
  })
  it('shows keys it does not know in words', () => {
    expect(describeResult({ new_thing: { a_b: 1 }, flag: false, list: [] }).rows).toEqual([
      { label: 'New thing', value: 'a b: 1' },
      { label: 'Flag', value: 'no' },
      { label: 'List', value: 'none' },
    ])
  })
  it('is empty for no result', () => {
    expect(describeResult({})).toEqual({ rows: [], notes: [] })
    expect(describeResult(null)).toEqual({ rows: [], notes: [] })
  })
})
