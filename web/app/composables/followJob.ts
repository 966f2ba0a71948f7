// Follows one job by polling it (with its events) until it ends, for panels
// that show a job's steps in place; the notices and the job page do the same
// for any job.
import { api, call, type Job } from '~/api/client'
import { isTerminal } from '~/utils/jobs'

export function useFollowJob(onEnd?: (j: Job) => void) {
  const job = ref<Job | null>(null)
  let id = ''
  let timer: ReturnType<typeof setTimeout> | undefined
  let alive = true

  async function tick(): Promise<void> {
    const want = id
    clearTimeout(timer)
    if (!alive || !want) return
    let done = false
    try {
      const j = await call(api.GET('/api/jobs/{id}', { params: { path: { id: want } } }))
      if (want !== id) return
      const was = job.value?.status
      job.value = j
      done = isTerminal(j.status)
      if (done && was && !isTerminal(was)) {
        bumpChanges()
        onEnd?.(j)
      }
    } catch {
      // Try again on the next tick.
    }
    if (alive && !done && want === id) timer = setTimeout(tick, 1500)
  }

  /** Starts following jobId (a job already ended is fetched once). */
  function follow(jobId: string): void {
    if (jobId === id) return
    id = jobId
    job.value = null
    void tick()
  }

  onBeforeUnmount(() => { alive = false; clearTimeout(timer) })
  return { job, follow }
}
