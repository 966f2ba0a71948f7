import { describe, expect, it } from 'vitest'
import { triggerLabel } from '~/utils/backups'
import { errorCodeText, jobTypeLabel } from '~/utils/format'
import {
  changeGroups, changeSummary, componentLabel, driftView, parseTables, promoteMode, promotePoints, promoteSteps, promotionOutcome, protectedText,
} from '~/utils/promotion'
import { rolledBack, sourceLabel } from '~/utils/releases'

const ok = { ok: true, message: 'fine' }
const driftBad = { ok: false, code: 'drift_not_clean', message: 'No drift check has run on this environment; run one first.' }
const backupBad = { ok: false, code: 'backup_not_fresh', message: 'The target has no completed full backup from the last 60 minutes.' }

describe('promotion words', () => {
  it('names job types, codes, triggers and the release source', () => {
    expect(jobTypeLabel('drift_check')).toBe('Check drift')
    expect(jobTypeLabel('env_promote')).toBe('Promote')
    expect(errorCodeText('drift_not_clean')).toBe('No clean, recent drift check')
    expect(errorCodeText('backup_not_fresh')).toBe('No fresh full backup of the target')
    expect(triggerLabel('pre_promote')).toBe('Before a promotion')
    expect(sourceLabel('promote')).toBe('Promotion')
  })

  it('shows drift_status as a badge', () => {
    expect(driftView('clean')).toEqual({ label: 'no drift', tone: 'ok' })
    expect(driftView('drifted').tone).toBe('bad')
    expect(driftView('unknown').label).toBe('drift not checked')
    expect(driftView('').label).toBe('drift not checked')
  })

  it('reads extra tables typed with commas, spaces or lines, and says what stays', () => {
    expect(parseTables(' wp_orders, wc_*\nwp_orders  custom_log ,')).toEqual(['wp_orders', 'wc_*', 'custom_log'])
    expect(parseTables('  ')).toEqual([])
    expect(protectedText(['wp_posts', 'wp_users'])).toBe('wp_posts, wp_users and uploads')
    expect(protectedText([])).toBe('uploads only')
    expect(protectedText(null)).toBe('uploads only')
  })
})

describe('drift results', () => {
  const changes = [
    { kind: 'path', name: 'themes/twentytwentyfour', change: 'changed' },
    { kind: 'table', name: 'wp_options', change: 'changed' },
    { kind: 'component', name: 'plugin/akismet', change: 'changed', from: '5.0', to: '5.3.3' },
    { kind: 'component', name: 'plugin/hello-dolly', change: 'added', to: '1.7.2' },
    { kind: 'component', name: 'theme/twentytwentythree', change: 'removed', from: '1.2' },
    { kind: 'component', name: 'core', change: 'changed', from: '6.4.2', to: '6.5' },
  ]

  it('groups changes as tables, components with versions, then paths', () => {
    const g = changeGroups(changes)
    expect(g.map((x) => x.title)).toEqual(['Tables', 'Plugins, themes and WordPress', 'Files in wp-content'])
    expect(g[0]!.rows).toEqual([{ label: 'wp_options', change: 'changed', detail: '' }])
    expect(g[1]!.rows).toEqual([
      { label: 'Plugin akismet', change: 'changed', detail: '5.0 → 5.3.3' },
      { label: 'Plugin hello-dolly', change: 'added', detail: '1.7.2' },
      { label: 'Theme twentytwentythree', change: 'removed', detail: '1.2' },
      { label: 'WordPress', change: 'changed', detail: '6.4.2 → 6.5' },
    ])
    expect(g[2]!.rows[0]).toEqual({ label: 'themes/twentytwentyfour', change: 'changed', detail: '' })
    expect(changeGroups([])).toEqual([])
    expect(changeGroups(null)).toEqual([])
  })

  it('summarises a check', () => {
    expect(changeSummary([])).toBe('No changes outside the protected tables.')
    expect(changeSummary(changes)).toBe('6 changes: 1 table, 4 plugins, themes or core versions, 1 path.')
    expect(changeSummary([changes[1]!])).toBe('1 change: 1 table.')
    expect(componentLabel('theme/astra')).toBe('Theme astra')
    expect(componentLabel('odd')).toBe('odd')
  })
})

describe('promotion gates', () => {
  it('offers a promotion when both gates pass, back up and promote when only the backup is missing', () => {
    expect(promoteMode({ drift: ok, backup: ok }, 'active', 'active')).toBe('promote')
    expect(promoteMode({ drift: ok, backup: backupBad }, 'active', 'active')).toBe('backup_first')
    expect(promoteMode({ drift: driftBad, backup: ok }, 'active', 'active')).toBe('blocked')
    expect(promoteMode({ drift: driftBad, backup: backupBad }, 'active', 'active')).toBe('blocked')
    expect(promoteMode({ drift: ok, backup: ok }, 'active', 'promoting')).toBe('blocked')
    expect(promoteMode({ drift: ok, backup: ok }, 'deploying', 'active')).toBe('blocked')
  })

  it('names what moves and what is protected in the confirmation', () => {
    const p = promotePoints({ source: 'Staging', target: 'Production', sourceUrl: 'https://staging.shop.example', targetUrl: 'https://shop.example',
      protectedList: ['wp_posts', 'wp_comments'], backupFirst: true })
    expect(p[0]).toBe('A full backup of Production is taken first.')
    expect(p.some((x) => x.includes('https://staging.shop.example rewritten to https://shop.example'))).toBe(true)
    expect(p).toContain('Kept as they are on Production: wp_posts, wp_comments and uploads.')
    expect(promotePoints({ source: 'S', target: 'P', sourceUrl: '', targetUrl: '', protectedList: [], backupFirst: false })[0]).toMatch(/^Code:/)
  })
})

describe('promotion jobs', () => {
  const ev = (step: string, level = 'info', message = `${step} message`) => ({ step, level, message })

  it('shows the steps as the events tell, the newest one running', () => {
    const s = promoteSteps('running', [ev('queued'), ev('snapshot'), ev('drift'), ev('build')], false)
    expect(s.map((x) => x.step)).toEqual(['snapshot', 'drift', 'build', 'database', 'switch', 'health_check'])
    expect(s.map((x) => x.state)).toEqual(['done', 'done', 'running', 'pending', 'pending', 'pending'])
    expect(s[2]!.message).toBe('build message')
    const withBackup = promoteSteps('queued', [], true)
    expect(withBackup[0]).toEqual({ step: 'backup', label: 'Full backup of the target', state: 'pending', message: '' })
  })

  it('shows a rollback step only when one happened, and failures', () => {
    const s = promoteSteps('failed', [ev('snapshot'), ev('build'), ev('database'), ev('switch'), ev('health_check', 'error'), ev('rollback', 'warn'), ev('rollback')], false)
    expect(s.find((x) => x.step === 'health_check')!.state).toBe('failed')
    expect(s.find((x) => x.step === 'rollback')!.state).toBe('done')
    expect(s.find((x) => x.step === 'drift')!.state).toBe('skipped')
  })

  it('says what a finished promotion did', () => {
    const result = { moved_tables: ['wp_options', 'wp_links'], protected_tables: ['wp_posts'], search_replace: { hosts: ['staging.shop.example'], cells: 12 } }
    expect(promotionOutcome({ status: 'succeeded', error_message: '', result })).toEqual({
      tone: 'success', title: 'Promoted.', moved: ['wp_options', 'wp_links'], protectedTables: ['wp_posts'], rewritten: 12,
    })
    const rb = promotionOutcome({ status: 'failed', rolled_back: true, error_message: 'https://shop.example/ answered 500.', result: {} })
    expect(rb?.tone).toBe('warning')
    expect(rb?.title).toMatch(/^Rolled back: the previous release and database are served again\. https/)
    expect(promotionOutcome({ status: 'failed', error_message: 'boom', result: null })?.tone).toBe('error')
    expect(promotionOutcome({ status: 'running', error_message: '', result: {} })).toBeNull()
  })

  it('counts a failed promotion that put everything back as rolled back', () => {
    expect(rolledBack({ type: 'env_promote', status: 'failed', events: [{ step: 'rollback', level: 'info' }] })).toBe(true)
  })
})
