import { describe, expect, it } from 'vitest'
import { archiveContentType, MAX_UPLOAD_BYTES, uploadProblem, uploadProgressText } from '~/utils/upload'

describe('uploaded archives', () => {
  it('names the archive type by the file name, and bytes otherwise', () => {
    expect(archiveContentType('site.ZIP')).toBe('application/zip')
    expect(archiveContentType('build.tar.gz')).toBe('application/gzip')
    expect(archiveContentType('build.tgz')).toBe('application/gzip')
    expect(archiveContentType('build.tar.zst')).toBe('application/zstd')
    expect(archiveContentType('wp-content')).toBe('application/octet-stream')
  })

  it('refuses no file, an empty one and one over the limit before sending', () => {
    expect(uploadProblem(null)).toBe('Choose an archive to upload.')
    expect(uploadProblem({ name: 'a.zip', size: 0 })).toBe('a.zip is empty.')
    expect(uploadProblem({ name: 'a.zip', size: MAX_UPLOAD_BYTES + 1 })).toMatch(/larger than the upload limit of 512 MiB/)
    expect(uploadProblem({ name: 'a.zip', size: MAX_UPLOAD_BYTES })).toBe('')
  })

  it('shows how far an upload got', () => {
    expect(uploadProgressText(12_500_000, 20_000_000)).toBe('12.5 of 20.0 MB (62 %)')
    expect(uploadProgressText(0, 0)).toBe('0.0 of 0.0 MB (0 %)')
  })
})
