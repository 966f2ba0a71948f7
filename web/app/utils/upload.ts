// How an archive uploaded for a deploy is sent and shown. Pure functions,
// so the rules are unit tested.

/** The largest archive the API takes as a deploy's body (512 MiB). */
export const MAX_UPLOAD_BYTES = 512 * 1024 * 1024

/** The Content-Type for an archive's file name; the node tells the format by the content, so anything else is just bytes. */
export function archiveContentType(name: string): string {
  const n = name.toLowerCase()
  if (n.endsWith('.zip')) return 'application/zip'
  if (n.endsWith('.gz') || n.endsWith('.tgz')) return 'application/gzip'
  if (n.endsWith('.zst') || n.endsWith('.tzst')) return 'application/zstd'
  return 'application/octet-stream'
}

/** Why a chosen file cannot be uploaded, or "" when it can. */
export function uploadProblem(file: { name: string, size: number } | null | undefined): string {
  if (!file) return 'Choose an archive to upload.'
  if (file.size === 0) return `${file.name} is empty.`
  if (file.size > MAX_UPLOAD_BYTES) return `${file.name} is larger than the upload limit of 512 MiB.`
  return ''
}

/** "12.5 of 20.0 MB (62 %)" while an upload is under way. */
export function uploadProgressText(sent: number, total: number): string {
  const mb = (n: number): string => (n / 1e6).toFixed(1)
  const pct = total > 0 ? Math.floor((sent / total) * 100) : 0
  return `${mb(sent)} of ${mb(total)} MB (${pct} %)`
}
