// One confirmation dialog for the whole app, opened with await confirmAction().
export interface ConfirmRequest {
  title: string
  message: string
  confirmLabel: string
  /** When set, the user types this to enable the button. */
  typed?: string
  /** Points listed under the message. */
  points?: string[]
  resolve: (ok: boolean) => void
}

export function useConfirmRequest() {
  return useState<ConfirmRequest | null>('confirm', () => null)
}

export function confirmAction(opts: Omit<ConfirmRequest, 'resolve'>): Promise<boolean> {
  const req = useConfirmRequest()
  req.value?.resolve(false)
  return new Promise((resolve) => {
    req.value = { ...opts, resolve }
  })
}
