import { describe, expect, it } from 'vitest'
import { errorCodeText, jobTypeLabel } from '~/utils/format'
import { jobProblem, jobState } from '~/utils/jobs'
import {
  availableText, canRollBack, deployBody, healthView, installedTypeLabel, itemLabel, lastChange, parsePaths, refText,
  releaseDir, releaseProblem, rollbackBody, rollbackSnapshot, rolledBack, sourceLabel, updateBody, verifiedOnClone,
} from '~/utils/releases'

function release(id: string, snapshot: string, current = false) {
  return { id, source: 'git', ref: '', path: `/srv/pressluft/shop-production/releases/${id}`, health: 'healthy', snapshot_id: snapshot, current }
}

function job(over: Partial<{ type: string, status: string, events: { step: string, level: string }[] }> = {}) {
  return {
    type: over.type ?? 'env_deploy', status: over.status ?? 'failed', attempt: 1, max_attempts: 1, run_after: '', cancel_requested: false,
    error_code: 'health_check_failed', error_message: 'https://shop.example/ answered 500, want 200.', created_at: '',
    started_at: null, finished_at: null, events: over.events ?? [],
  }
}

const ROLLED_BACK = [
  { step: 'snapshot', level: 'info' },
  { step: 'rollback', level: 'warn' },
  { step: 'rollback', level: 'info' },
  { step: 'failed', level: 'error' },
]

describe('release words', () => {
  it('names sources, health and job types', () => {
    expect(sourceLabel('git')).toBe('Git')
    expect(sourceLabel('initial')).toBe('Site created')
    expect(sourceLabel('restore')).toBe('Backup restored')
    expect(sourceLabel('something_new')).toBe('Something new')
    expect(healthView('healthy')).toEqual({ label: 'healthy', tone: 'ok' })
    expect(healthView('unhealthy').tone).toBe('bad')
    expect(healthView('unknown').label).toBe('not checked')
    expect(jobTypeLabel('env_deploy')).toBe('Deploy')
    expect(jobTypeLabel('release_rollback')).toBe('Roll back release')
  })

  it('shows a release by its directory and its ref short', () => {
    expect(releaseDir('/srv/pressluft/shop-production/releases/20261129-a1b2c3/')).toBe('20261129-a1b2c3')
    expect(refText({ source: 'git', ref: '3f2c1a9b0d4e5f60718293a4b5c6d7e8f9012345' })).toBe('3f2c1a9b0d4e')
    expect(refText({ source: 'git', ref: 'main' })).toBe('main')
    expect(refText({ source: 'restore', ref: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' })).toBe('backup 0190a1b2')
    expect(refText({ source: 'archive', ref: 'https://ci.example.com/a.zip' })).toBe('https://ci.example.com/a.zip')
    expect(refText({ source: 'initial', ref: '' })).toBe('—')
  })

  it('labels what is installed and what is available', () => {
    expect(installedTypeLabel('core')).toBe('WordPress')
    expect(installedTypeLabel('plugin')).toBe('Plugin')
    expect(availableText('5.3', true)).toBe('5.3')
    expect(availableText('', true)).toBe('up to date')
    expect(availableText('', false)).toBe('unknown')
    expect(itemLabel({ type: 'core', slug: 'core', name: 'WordPress' })).toBe('WordPress')
    expect(itemLabel({ type: 'plugin', slug: 'akismet', name: 'Akismet Anti-spam' })).toBe('plugin Akismet Anti-spam')
  })
})

describe('rollback', () => {
  // Newest first, as the API lists them: a rollback to a release restores the
  // snapshot the release after it took when it replaced it.
  const list = [release('r4', 's4', true), release('r3', 's3'), release('r2', ''), release('r1', '')]

  it('finds the database snapshot a rollback would restore', () => {
    expect(rollbackSnapshot(list, 0)).toBe('')
    expect(rollbackSnapshot(list, 1)).toBe('s4')
    expect(rollbackSnapshot(list, 2)).toBe('s3')
    expect(rollbackSnapshot(list, 3)).toBe('')
    expect(rollbackSnapshot(list, 9)).toBe('')
  })

  it('is offered for an earlier release of an active environment', () => {
    expect(canRollBack(list[0]!, 'active')).toBe(false)
    expect(canRollBack(list[1]!, 'active')).toBe(true)
    expect(canRollBack(list[1]!, 'deploying')).toBe(false)
  })

  it('always says whether the database goes back', () => {
    expect(rollbackBody('r3', 'files')).toEqual({ release_id: 'r3', restore_database: false })
    expect(rollbackBody('r3', 'database')).toEqual({ release_id: 'r3', restore_database: true })
  })
})

describe('deploy and update requests', () => {
  it('sends only the chosen source, trimmed', () => {
    const v = { source_type: 'git' as const, repository: ' git@github.com:acme/shop.git ', source_ref: 'main ', archive_url: 'https://left.over/a.zip' }
    expect(deployBody(v)).toEqual({ source_type: 'git', repository: 'git@github.com:acme/shop.git', source_ref: 'main' })
    expect(deployBody({ ...v, source_type: 'archive' })).toEqual({ source_type: 'archive', archive_url: 'https://left.over/a.zip' })
  })

  it('updates core, a plugin or a theme, from a package when given', () => {
    expect(updateBody({ type: 'core', slug: 'core' })).toEqual({ scope: 'core' })
    expect(updateBody({ type: 'plugin', slug: 'akismet' })).toEqual({ scope: 'plugins', items: ['akismet'] })
    expect(updateBody({ type: 'theme', slug: 'twentytwentyfour' }, ' https://x.example/t.zip ')).toEqual({ scope: 'themes', items: ['twentytwentyfour'], package_url: 'https://x.example/t.zip' })
    expect(updateBody({ type: 'plugin', slug: 'akismet' }, '  ')).toEqual({ scope: 'plugins', items: ['akismet'] })
    expect(verifiedOnClone({ scope: 'all' }, true)).toEqual({ scope: 'all', verify_on_clone: true })
    expect(verifiedOnClone({ scope: 'all' }, false)).toEqual({ scope: 'all' })
  })

  it('reads health check paths one per line', () => {
    expect(parsePaths(' /shop/ \n\n/wp-login.php\n  ')).toEqual(['/shop/', '/wp-login.php'])
    expect(parsePaths('')).toEqual([])
  })
})

describe('failed release jobs', () => {
  it('shows a job that put the previous release back as rolled back, a warning', () => {
    const j = job({ events: ROLLED_BACK })
    expect(rolledBack(j)).toBe(true)
    expect(jobState(j)).toEqual({ label: 'rolled back', tone: 'warn', retrying: false })
    const p = jobProblem(j, errorCodeText)
    expect(p?.tone).toBe('warning')
    expect(p?.title).toBe('Rolled back: The site did not answer its health check')
  })

  it('shows a failed rollback, a failure without one and other job types as failed', () => {
    const rollbackFailed = job({ events: [{ step: 'rollback', level: 'warn' }, { step: 'failed', level: 'error' }] })
    expect(rolledBack(rollbackFailed)).toBe(false)
    expect(jobState(rollbackFailed).label).toBe('failed')
    expect(jobProblem(rollbackFailed, errorCodeText)?.tone).toBe('error')
    expect(rolledBack(job({ events: [] }))).toBe(false)
    expect(rolledBack(job({ type: 'env_restore', events: ROLLED_BACK }))).toBe(false)
    expect(rolledBack(job({ status: 'running', events: ROLLED_BACK }))).toBe(false)
    expect(rolledBack({ status: 'failed', type: 'env_update' })).toBe(false)
  })

  it('tells each new code in words with what to do', () => {
    for (const code of ['git_ref_not_found', 'git_unreachable', 'git_auth_failed', 'archive_too_large', 'unsafe_archive']) {
      expect(releaseProblem(code).advice).toMatch(/Nothing was switched/)
    }
    expect(releaseProblem('git_auth_failed').advice).toMatch(/deploy key/)
    expect(releaseProblem('snapshot_unavailable').title).toBe('No database snapshot of that release is kept')
    expect(releaseProblem('snapshot_unavailable').advice).toMatch(/files only/)
    expect(releaseProblem('update_unavailable').advice).toMatch(/package URL/)
    expect(releaseProblem('node_unreachable', 'No answer.')).toEqual({ title: 'The node could not be reached', advice: 'No answer.' })
    for (const code of ['snapshot_unavailable', 'git_ref_not_found', 'git_unreachable', 'git_auth_failed', 'archive_too_large', 'unsafe_archive', 'update_unavailable']) {
      expect(errorCodeText(code)).not.toMatch(/_/)
    }
  })

  it('shows an environment whose last change was undone as a warning, a failed one as an error', () => {
    expect(lastChange('active').tone).toBe('warning')
    expect(lastChange('active').note).toMatch(/serves what it served before/)
    expect(lastChange('failed')).toEqual({ tone: 'error', title: 'Last error:', note: '' })
  })
})
