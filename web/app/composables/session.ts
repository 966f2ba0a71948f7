// The signed-in user, loaded once from GET /api/me.
import { api, call, type Schemas } from '~/api/client'

export type Me = Schemas['Me']

/** undefined: not asked yet; null: signed out. */
export function useUser() {
  return useState<Me | null | undefined>('user', () => undefined)
}

/** Set when a request answered 401 during a session: the login page says so. */
export function useSessionExpired() {
  return useState<boolean>('session-expired', () => false)
}

export async function fetchUser(): Promise<Me | null> {
  try {
    return await call(api.GET('/api/me'))
  } catch {
    return null
  }
}

/** Only same-app paths are followed after login. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/sites'
}
