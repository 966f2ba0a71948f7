// A counter bumped after every change this dashboard makes or sees finish
// (a create, a cancel, a job that ended): lists and the summary strip reload.
export function useChanges() {
  return useState<number>('changes', () => 0)
}

export function bumpChanges(): void {
  useChanges().value++
}

/** Runs fn every ms while the page is visible, and (unless onChange is false) whenever a change is bumped. */
export function useRefresh(fn: () => unknown, ms: number, onChange = true): void {
  const changes = useChanges()
  let timer: ReturnType<typeof setInterval> | undefined
  onMounted(() => {
    timer = setInterval(() => { if (!document.hidden) fn() }, ms)
  })
  onBeforeUnmount(() => clearInterval(timer))
  if (onChange) watch(changes, () => { fn() })
}
