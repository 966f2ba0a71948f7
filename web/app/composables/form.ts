// Form state: values, per-field server errors (cleared as soon as the field
// changes), a summary message and a busy flag.
import { ApiError, isAbort } from '~/api/client'
import { fieldMessage } from '~/utils/format'

export function useForm<T extends Record<string, unknown>>(initial: T, labels: Partial<Record<string, string>>) {
  const values = reactive({ ...initial }) as T
  const errors = reactive<Record<string, string>>({})
  const summary = ref('')
  const busy = ref(false)

  for (const key of Object.keys(initial)) {
    watch(() => values[key], () => {
      if (errors[key]) {
        delete errors[key]
        if (!Object.keys(errors).length) summary.value = ''
      }
    })
  }

  function reset(): void {
    Object.assign(values, initial)
    for (const k of Object.keys(errors)) delete errors[k]
    summary.value = ''
  }

  /** Runs fn; an API error lands on its field when the form has one, else in the summary. */
  async function submit<R>(fn: () => Promise<R>): Promise<R | undefined> {
    if (busy.value) return undefined
    busy.value = true
    summary.value = ''
    for (const k of Object.keys(errors)) delete errors[k]
    try {
      return await fn()
    } catch (err) {
      if (isAbort(err)) return undefined
      if (err instanceof ApiError && err.field && err.field in initial) {
        errors[err.field] = fieldMessage(err.message, err.field, labels[err.field] ?? err.field)
        summary.value = 'Please correct the marked field.'
      } else {
        summary.value = err instanceof Error ? err.message : 'Something went wrong.'
      }
      return undefined
    } finally {
      busy.value = false
    }
  }

  return { values, errors, summary, busy, reset, submit }
}
