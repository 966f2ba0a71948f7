// Notices at the top of the page: dismissible, the newest first, at most a few.
export type NoticeTone = 'info' | 'success' | 'warning' | 'error'

export interface Notice {
  id: number
  tone: NoticeTone
  text: string
  /** A job to follow: the notice shows its state until it ends. */
  jobId?: string
}

const MAX = 4
let next = 1

export function useNotices() {
  return useState<Notice[]>('notices', () => [])
}

export function notify(tone: NoticeTone, text: string, jobId?: string): void {
  const list = useNotices()
  list.value = [{ id: next++, tone, text, jobId }, ...list.value].slice(0, MAX)
}

export function dismiss(id: number): void {
  const list = useNotices()
  list.value = list.value.filter((n) => n.id !== id)
}

export function notifyError(err: unknown): void {
  if (err instanceof DOMException && err.name === 'AbortError') return
  notify('error', err instanceof Error ? err.message : 'Something went wrong.')
}
