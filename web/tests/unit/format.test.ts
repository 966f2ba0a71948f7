import { describe, expect, it } from 'vitest'
import { errorCodeText, fieldMessage, formatDuration, humanize, jobTypeLabel, problemText, relativeTime, slugify, statusTone } from '~/utils/format'

describe('formatDuration', () => {
  it.each([[0, '0 s'], [0.4, '0 s'], [59, '59 s'], [60, '1 min'], [75, '1 min 15 s'], [3600, '1 h'], [4000, '1 h 6 min'], [-5, '0 s']])('%s s → %s', (s, want) => {
    expect(formatDuration(s)).toBe(want)
  })
})

describe('relativeTime', () => {
  const now = Date.parse('2026-11-29T12:00:00Z')
  it.each([
    ['2026-11-29T11:59:30Z', 'just now'],
    ['2026-11-29T11:55:00Z', '5 min ago'],
    ['2026-11-29T09:00:00Z', '3 h ago'],
    ['2026-11-28T12:00:00Z', '1 day ago'],
    ['2026-11-25T12:00:00Z', '4 days ago'],
    ['2026-11-29T14:00:00Z', 'in 2 h'],
    ['', ''],
    ['garbage', ''],
  ])('%s → %s', (iso, want) => {
    expect(relativeTime(iso, now)).toBe(want)
  })
})

describe('words instead of codes', () => {
  it('names job types, with a fallback for types added later', () => {
    expect(jobTypeLabel('node_check')).toBe('Test node connection')
    expect(jobTypeLabel('backup_create')).toBe('Take backup')
    expect(jobTypeLabel('site_migrate')).toBe('Site migrate')
  })
  it('names error codes, with a fallback', () => {
    expect(errorCodeText('node_unreachable')).toBe('The node could not be reached')
    expect(errorCodeText('some_new_code')).toBe('Some new code')
  })
  it('humanizes', () => {
    expect(humanize('content-protect')).toBe('Content protect')
    expect(humanize('')).toBe('')
  })
  it('puts the label in place of a field name in a server message', () => {
    expect(fieldMessage('source_environment_id must be an id.', 'source_environment_id', 'Copy from')).toBe('Copy from must be an id.')
    expect(fieldMessage('slug must be 2 to 20 characters long.', 'slug', 'Slug')).toBe('Slug must be 2 to 20 characters long.')
    expect(fieldMessage('A site with this slug exists.', 'slug', 'Slug')).toBe('A site with this Slug exists.')
    expect(fieldMessage('Nothing to replace.', '', 'Slug')).toBe('Nothing to replace.')
  })
  it('gives statuses a tone', () => {
    expect(statusTone('active')).toBe('ok')
    expect(statusTone('failed')).toBe('bad')
    expect(statusTone('provisioning')).toBe('busy')
    expect(statusTone('decommissioned')).toBe('muted')
    expect(statusTone('whatever')).toBe('neutral')
  })
})

describe('slugify', () => {
  it.each([
    ['Acme Corp', 20, 'acme-corp'],
    ['  Café  Crème!! ', 20, 'cafe-creme'],
    ['2nd Shop', 20, 'nd-shop'],
    ['A very long name for a site', 10, 'a-very-lon'],
    ['ends with dash -', 20, 'ends-with-dash'],
    ['Cut at dash here', 7, 'cut-at'],
  ])('%s (%i) → %s', (name, max, want) => {
    expect(slugify(name, max)).toBe(want)
  })
})

describe('problemText', () => {
  it('puts words in place of a leading error code', () => {
    expect(problemText('job_cancelled: Cancelled before it started.', ['job_cancelled'])).toBe('The job was cancelled: Cancelled before it started.')
    expect(problemText('dial tcp: connection refused', ['job_cancelled'])).toBe('dial tcp: connection refused')
    expect(problemText('unknown_code: text', ['job_cancelled'])).toBe('unknown_code: text')
  })
})
