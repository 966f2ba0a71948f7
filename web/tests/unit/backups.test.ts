import { describe, expect, it } from 'vitest'
import {
  canDelete, canRestore, canUpload, downloadHref, downloads, formatBytes, locationLabel, offsiteProblem, offsiteTestProblem,
  restoreReplaces, retentionSummary, scheduleSummary, scopeLabel, tableRows, triggerLabel, wholeNumber,
} from '~/utils/backups'
import { errorCodeText, statusTone } from '~/utils/format'

const ID = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'

function backup(over: Partial<{ status: string, location: string, parts: { name: string, size: number, sha256: string }[] | null }> = {}) {
  const parts = over.parts === undefined ? [{ name: 'db.sql.zst', size: 2048, sha256: 'aa' }, { name: 'files.tar.zst', size: 3 * 1024 ** 2, sha256: 'bb' }] : over.parts
  return { id: ID, status: over.status ?? 'completed', location: over.location ?? 'node', manifest: parts ? { parts } : null }
}

describe('backup words', () => {
  it('names scopes, triggers and locations', () => {
    expect(scopeLabel('db')).toBe('Database')
    expect(scopeLabel('full')).toBe('Database and files')
    expect(triggerLabel('pre_restore')).toBe('Before a restore')
    expect(triggerLabel('schedule')).toBe('Scheduled')
    expect(locationLabel('both')).toBe('Node and offsite')
    expect(locationLabel('offsite')).toBe('Offsite only')
    expect(locationLabel('')).toBe('—')
  })

  it('colours backup statuses', () => {
    expect(statusTone('completed')).toBe('ok')
    expect(statusTone('running')).toBe('busy')
    expect(statusTone('failed')).toBe('bad')
    expect(statusTone('expired')).toBe('muted')
  })

  it('tells the new error codes in words', () => {
    for (const code of ['checksum_mismatch', 'insufficient_space', 'offsite_auth_failed', 'offsite_unreachable', 'offsite_failed', 'backup_in_use']) {
      expect(errorCodeText(code)).not.toMatch(/_/)
    }
  })

  it('says what a restore replaces, by scope', () => {
    expect(restoreReplaces('db', 'Staging')).toBe('Its database is replaced by the backup’s, with URLs rewritten to Staging’s.')
    expect(restoreReplaces('files', 'Staging')).toMatch(/^Its files .* are replaced/)
    expect(restoreReplaces('full', 'Staging')).toMatch(/^Its database and files are replaced/)
  })
})

describe('formatBytes', () => {
  it.each([[0, '0 B'], [512, '512 B'], [1023, '1023 B'], [1024, '1.0 KiB'], [1536, '1.5 KiB'], [200 * 1024, '200 KiB'],
    [5 * 1024 ** 3, '5.0 GiB'], [-3, '0 B'], [Number.NaN, '0 B']])('%s → %s', (n, want) => {
    expect(formatBytes(n)).toBe(want)
  })
})

describe('what a backup offers', () => {
  it('links every part of a completed backup, the manifest first', () => {
    const d = downloads(backup())
    expect(d.map((x) => x.part)).toEqual(['manifest.json', 'db.sql.zst', 'files.tar.zst'])
    expect(d[1]).toEqual({ part: 'db.sql.zst', label: 'Database', size: '2.0 KiB', href: `/api/backups/${ID}/download?part=db.sql.zst` })
    expect(d[2]!.size).toBe('3.0 MiB')
    expect(downloads(backup({ parts: [{ name: 'db.sql.zst', size: 1, sha256: 'x' }] })).map((x) => x.part)).toEqual(['manifest.json', 'db.sql.zst'])
  })

  it('offers no download before the backup completed', () => {
    expect(downloads(backup({ status: 'running', parts: null }))).toEqual([])
    expect(downloads(backup({ status: 'failed' }))).toEqual([])
  })

  it('escapes what goes into the download address', () => {
    expect(downloadHref('a/b', 'x&y')).toBe('/api/backups/a%2Fb/download?part=x%26y')
  })

  it('offers upload only for a completed node-only backup with a target set', () => {
    expect(canUpload(backup(), true)).toBe(true)
    expect(canUpload(backup(), false)).toBe(false)
    expect(canUpload(backup({ location: 'both' }), true)).toBe(false)
    expect(canUpload(backup({ location: 'offsite' }), true)).toBe(false)
    expect(canUpload(backup({ status: 'running', location: '' }), true)).toBe(false)
  })

  it('restores only completed backups and deletes only finished ones', () => {
    expect(canRestore(backup())).toBe(true)
    expect(canRestore(backup({ status: 'failed' }))).toBe(false)
    expect(canDelete(backup({ status: 'pending' }))).toBe(false)
    expect(canDelete(backup({ status: 'running' }))).toBe(false)
    expect(canDelete(backup({ status: 'failed' }))).toBe(true)
    expect(canDelete(backup())).toBe(true)
  })

  it('lists row counts by table name', () => {
    expect(tableRows({ wp_posts: 12, wp_options: 300, wp_commentmeta: 0 })).toEqual([['wp_commentmeta', 0], ['wp_options', 300], ['wp_posts', 12]])
    expect(tableRows(undefined)).toEqual([])
  })
})

describe('offsite problems', () => {
  it('explains a failed upload and says what to do', () => {
    const p = offsiteProblem('offsite_auth_failed')!
    expect(p.title).toBe('The offsite storage refused the credentials')
    expect(p.advice).toMatch(/access key/)
    expect(p.advice).toMatch(/copy on the node is kept/)
    expect(offsiteProblem('offsite_unreachable')!.advice).toMatch(/endpoint/)
    expect(offsiteProblem('offsite_failed')!.advice).toMatch(/bucket exists/)
    expect(offsiteProblem('')).toBeNull()
    expect(offsiteProblem('some_new_code')!.title).toBe('Some new code')
    // An upload that failed for another reason sends nobody to the offsite settings.
    expect(offsiteProblem('node_unreachable')).toEqual({ title: 'The node could not be reached', advice: 'The copy on the node is kept; upload it again once fixed.' })
  })

  it('explains a failed connection test with the server’s message', () => {
    expect(offsiteTestProblem('offsite_unreachable', 'The offsite target 127.0.0.1:1 did not answer (connection refused).'))
      .toEqual({ title: 'The offsite storage did not answer', advice: 'The offsite target 127.0.0.1:1 did not answer (connection refused).' })
    expect(offsiteTestProblem('offsite_auth_failed', '').advice).toMatch(/secret key/)
    expect(offsiteTestProblem('conflict', 'No offsite target is set; set one first.').title).toBe('No offsite storage is saved yet')
    expect(offsiteTestProblem('network_error', 'Could not reach the control plane.')).toEqual({ title: 'Network error', advice: 'Could not reach the control plane.' })
  })
})

describe('schedules', () => {
  const base = { minute: 5, hour: 3, weekday: 0, timezone: 'Europe/Berlin', keep_last: 7, keep_days: 0 }
  it('summarises when a schedule runs', () => {
    expect(scheduleSummary({ ...base, frequency: 'hourly' })).toBe('Every hour at :05')
    expect(scheduleSummary({ ...base, frequency: 'daily' })).toBe('Daily at 03:05 (Europe/Berlin)')
    expect(scheduleSummary({ ...base, frequency: 'weekly', weekday: 6, timezone: '' })).toBe('Weekly on Saturday at 03:05 (UTC)')
  })

  it('summarises what retention keeps', () => {
    expect(retentionSummary(7, 0)).toMatch(/^Keeps the last 7 scheduled backups\. /)
    expect(retentionSummary(1, 30)).toMatch(/^Keeps the last scheduled backup and every scheduled backup younger than 30 days\. /)
    expect(retentionSummary(0, 1)).toMatch(/younger than 1 day\. /)
    expect(retentionSummary(7, 0)).toMatch(/newest completed backup is always kept/)
  })

  it('reads whole numbers typed into fields', () => {
    expect(wholeNumber('30')).toBe(30)
    expect(wholeNumber(' 7 ')).toBe(7)
    expect(wholeNumber(75)).toBe(75)
    expect(wholeNumber('')).toBeNull()
    expect(wholeNumber('1.5')).toBeNull()
    expect(wholeNumber('-1')).toBeNull()
    expect(wholeNumber(null)).toBeNull()
  })
})
