import { describe, expect, it } from 'vitest'
import { removalActions } from '~/utils/nodes'

describe('removalActions', () => {
  it('offers forget instead of delete when the node is gone', () => {
    expect(removalActions('unreachable')).toEqual({ delete: false, forget: true })
    expect(removalActions('decommissioned')).toEqual({ delete: false, forget: true })
  })
  it('offers both on a failed node, whose SSH may or may not answer', () => {
    expect(removalActions('failed')).toEqual({ delete: true, forget: true })
  })
  it('offers delete only while the node answers or is unknown', () => {
    for (const s of ['active', 'pending', 'provisioning', undefined]) expect(removalActions(s)).toEqual({ delete: true, forget: false })
  })
})
