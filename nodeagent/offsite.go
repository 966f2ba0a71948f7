package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pressluft/pressluft/agent/protocol"
	"github.com/pressluft/pressluft/s3"
)

func s3Target(o *protocol.Offsite) s3.Target {
	return s3.Target{Endpoint: o.Endpoint, UseTLS: o.UseTLS, Region: o.Region, Bucket: o.Bucket, AccessKey: o.AccessKey, SecretKey: o.SecretKey}
}

// offsiteError carries an s3 failure's code; its message names no secret
// (the writer would cut one out all the same).
func (a *agent) offsiteError(err error) error {
	if code, _ := errorCode(err); code == protocol.ErrCancelled {
		return err
	}
	var e *s3.Error
	msg := err.Error()
	if errors.As(err, &e) {
		msg = e.Message
	}
	code := protocol.ErrOffsiteFailed
	switch s3.Code(err) {
	case s3.CodeAuth:
		code = protocol.ErrOffsiteAuth
	case s3.CodeUnreachable:
		code = protocol.ErrOffsiteUnreachable
	}
	return &Error{Code: code, Message: a.w.Redact(msg)}
}

// backupUpload copies a complete backup offsite under o.Key: the data
// parts first, manifest.json last (an object set with a manifest is
// whole), each checked by size and checksum once it is there.
func (a *agent) backupUpload(ctx context.Context, env *protocol.Env, b *protocol.Backup, o *protocol.Offsite) (*protocol.UploadResult, error) {
	bp := backupPathsFor(env.Name, b.ID)
	data, err := readManifest(bp.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errorf(protocol.ErrBackupUnavailable, "backup %s is not on this node (no %s)", b.ID, bp.Dir)
	} else if err != nil {
		return nil, err
	}
	m, err := parseManifest(data, b.ID, sha256Hex(data))
	if err != nil {
		return nil, err
	}
	t := s3Target(o)
	res := &protocol.UploadResult{}
	start := time.Now()
	var total int64
	for _, p := range append(append([]protocol.ManifestPart(nil), m.Parts...), protocol.ManifestPart{Name: protocol.PartManifest}) {
		if err := checkCtx(ctx); err != nil {
			return nil, err
		}
		path := filepath.Join(bp.Dir, p.Name)
		f, err := os.Open(path)
		if err != nil {
			return nil, errorf(protocol.ErrBackupUnavailable, "backup %s lacks %s on this node: %v", b.ID, p.Name, err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		if p.Name != protocol.PartManifest && fi.Size() != p.Size {
			f.Close()
			return nil, errorf(protocol.ErrChecksumMismatch, "%s of backup %s holds %d bytes, its manifest says %d", p.Name, b.ID, fi.Size(), p.Size)
		}
		key := o.Key + "/" + p.Name
		partStart := time.Now()
		up, err := s3.Upload(ctx, t, key, f, fi.Size())
		f.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil, errorf(protocol.ErrCancelled, "cancelled while uploading %s", key)
			}
			return nil, a.offsiteError(err)
		}
		// What arrived is what the manifest promised (the local file could
		// have changed since it was written).
		if want := p.SHA256; p.Name != protocol.PartManifest && up.SHA256 != want {
			return nil, errorf(protocol.ErrChecksumMismatch, "%s of backup %s on this node hashes to %s, its manifest says %s: the node copy is damaged",
				p.Name, b.ID, up.SHA256, want)
		}
		took := time.Since(partStart).Seconds()
		a.event("upload", fmt.Sprintf("uploaded %s: %s in %.1f s (%.0f MB/s), checked by %s",
			key, mb(up.Size), took, float64(up.Size)/1e6/max(took, 0.001), up.Verified))
		total += up.Size
		res.Objects = append(res.Objects, protocol.UploadedObject{Key: key, Size: up.Size, SHA256: up.SHA256, Verified: up.Verified})
	}
	a.event("upload", fmt.Sprintf("backup %s is offsite at %s/%s: %s in %.1f s", b.ID, o.Bucket, o.Key, mb(total), time.Since(start).Seconds()))
	return res, nil
}

// backupDelete removes the node copy of a backup (and a partial one) and,
// with o, its objects offsite. What is gone already is fine.
func (a *agent) backupDelete(ctx context.Context, env *protocol.Env, b *protocol.Backup, o *protocol.Offsite) (*protocol.DeleteResult, error) {
	bp := backupPathsFor(env.Name, b.ID)
	res := &protocol.DeleteResult{Local: exists(bp.Dir)}
	for _, dir := range []string{bp.Dir, bp.Partial} {
		if err := removeAll(dir); err != nil {
			return nil, err
		}
	}
	if res.Local {
		a.event("delete", "removed "+bp.Dir)
	}
	if o != nil {
		n, err := s3.Delete(ctx, s3Target(o), o.Key+"/")
		if err != nil {
			if ctx.Err() != nil {
				return nil, errorf(protocol.ErrCancelled, "cancelled while deleting offsite")
			}
			return nil, a.offsiteError(err)
		}
		res.OffsiteObjects = n
		a.event("delete", fmt.Sprintf("removed %d objects under %s/%s/", n, o.Bucket, o.Key))
	}
	return res, nil
}

// downloadBackup fetches a backup's objects from o.Key into dir (built in
// dir.partial, renamed when all parts are there): manifest.json first, so
// the room the parts need is known and checked before they come.
func (a *agent) downloadBackup(ctx context.Context, o *protocol.Offsite, id, wantSHA, dir string, spaceFor func(*protocol.Manifest) []spaceNeed) error {
	partial := dir + ".partial"
	if err := removeAll(partial); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	if err := os.Mkdir(partial, 0o700); err != nil {
		return err
	}
	t := s3Target(o)
	fetch := func(name string) (int64, error) {
		f, err := os.OpenFile(filepath.Join(partial, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return 0, err
		}
		n, err := s3.Download(ctx, t, o.Key+"/"+name, f)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			if ctx.Err() != nil {
				return n, errorf(protocol.ErrCancelled, "cancelled while downloading %s", name)
			}
			if s3.Code(err) == s3.CodeFailed && isNoSuchKey(err) {
				return n, errorf(protocol.ErrBackupUnavailable, "backup %s is neither on this node nor offsite (%s/%s/%s is missing)", id, o.Bucket, o.Key, name)
			}
			return n, a.offsiteError(err)
		}
		return n, nil
	}
	if _, err := fetch(protocol.PartManifest); err != nil {
		return err
	}
	data, err := readManifest(partial)
	if err != nil {
		return err
	}
	m, err := parseManifest(data, id, wantSHA)
	if err != nil {
		return err
	}
	if err := checkSpace(spaceFor(m), freeSpace); err != nil {
		return err
	}
	start := time.Now()
	var total int64
	for _, p := range m.Parts {
		n, err := fetch(p.Name)
		if err != nil {
			return err
		}
		total += n
	}
	took := time.Since(start).Seconds()
	a.event("download", fmt.Sprintf("downloaded backup %s from %s/%s: %s in %.1f s (%.0f MB/s)",
		id, o.Bucket, o.Key, mb(total), took, float64(total)/1e6/max(took, 0.001)))
	return os.Rename(partial, dir)
}

func isNoSuchKey(err error) bool {
	var e *s3.Error
	return errors.As(err, &e) && s3.IsNotFound(e.Err)
}
