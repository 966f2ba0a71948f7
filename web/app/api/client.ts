// The typed API client: every call goes through openapi-fetch with the types
// generated from openapi.yaml, so a contract change the UI does not follow
// fails the type check.
import createClient from 'openapi-fetch'
import type { components, paths } from './schema'

export type Schemas = components['schemas']
export type Job = Schemas['Job']
export type JobEvent = Schemas['JobEvent']
export type Node = Schemas['Node']
export type Site = Schemas['Site']
export type SiteDetail = Schemas['SiteDetail']
export type Environment = Schemas['Environment']
export type ErrorCode = Schemas['ErrorCode']
export type Forgotten = Schemas['Forgotten']
export type Leftovers = Schemas['Leftovers']

/** Every failed call becomes an ApiError carrying the API's {code, message, details}. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly field: string
  readonly requestId: string

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.field = typeof details?.field === 'string' ? details.field : ''
    this.requestId = typeof details?.request_id === 'string' ? details.request_id : ''
  }

  /** A malformed id answers 400 with field "id": for a page that is "not found". */
  get notFound(): boolean {
    return this.status === 404 || (this.code === 'validation_failed' && this.field === 'id')
  }
}

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError'
}

let onUnauthorized: () => void = () => {}

/** Called when a request other than the login answers 401: the session ended. */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn
}

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin', headers: { Accept: 'application/json' } })

api.use({
  onResponse({ request, response }) {
    if (response.status === 401 && !new URL(request.url, location.origin).pathname.startsWith('/api/login')) {
      onUnauthorized()
    }
    return response
  },
})

interface Answer<D> {
  data?: D
  error?: unknown
  response: Response
}

/** Awaits an openapi-fetch call and returns its data or throws an ApiError. */
export async function call<D>(req: Promise<Answer<D>>): Promise<D> {
  let r: Answer<D>
  try {
    r = await req
  } catch (err) {
    if (isAbort(err)) throw err
    throw new ApiError(0, 'network_error', 'Could not reach the control plane. Check the connection and try again.')
  }
  if (!r.response.ok) {
    const e = (r.error ?? {}) as { code?: unknown, message?: unknown, details?: unknown }
    throw new ApiError(
      r.response.status,
      typeof e.code === 'string' ? e.code : `http_${r.response.status}`,
      typeof e.message === 'string' ? e.message : `The request failed (HTTP ${r.response.status}).`,
      e.details && typeof e.details === 'object' ? e.details as Record<string, unknown> : undefined,
    )
  }
  return r.data as D
}

const ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Whether s has the form of a resource id (so a malformed URL is "not found" at once). */
export function isId(s: unknown): s is string {
  return typeof s === 'string' && ID_RE.test(s)
}

/** An optional id of the API ("" when none) as a string. */
export function optId(v: unknown): string {
  return typeof v === 'string' ? v : ''
}
