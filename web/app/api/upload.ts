// A deploy whose request body is the archive itself. XMLHttpRequest rather
// than fetch: only it reports how far the upload got.
import { ApiError } from './client'
import { archiveContentType } from '~/utils/upload'

export interface UploadAccepted {
  job_id: string
  environment_id: string
  upload?: { id: string, size: number, sha256: string }
}

/** Posts file as the deploy's body; onProgress gets the bytes sent so far. Rejects with an ApiError. */
export function uploadArchive(envId: string, file: File, onProgress: (sent: number, total: number) => void): Promise<UploadAccepted> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', `/api/environments/${encodeURIComponent(envId)}/deploy`)
    xhr.setRequestHeader('Content-Type', archiveContentType(file.name))
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total)
    }
    xhr.onload = () => {
      let body: { code?: unknown, message?: unknown, details?: unknown } | null = null
      try {
        body = JSON.parse(xhr.responseText)
      } catch {
        body = null
      }
      if (xhr.status >= 200 && xhr.status < 300 && body) {
        resolve(body as unknown as UploadAccepted)
        return
      }
      reject(new ApiError(
        xhr.status,
        typeof body?.code === 'string' ? body.code : `http_${xhr.status}`,
        typeof body?.message === 'string' ? body.message : `The upload failed (HTTP ${xhr.status}).`,
        body?.details && typeof body.details === 'object' ? body.details as Record<string, unknown> : undefined,
      ))
    }
    xhr.onerror = () => reject(new ApiError(0, 'network_error', 'Could not reach the control plane. Check the connection and try again.'))
    xhr.send(file)
  })
}
