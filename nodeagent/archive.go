package nodeagent

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Top-level directories of files.tar.zst: wp-content/ from the current
// release (without its uploads link and cache), uploads/ from
// shared/uploads, config/ from shared/ (wp-config.php and wp-config.d/).
const (
	archWPContent = "wp-content"
	archUploads   = "uploads"
	archConfig    = "config"
)

// archiveEntry is one file, directory or symlink to archive.
type archiveEntry struct {
	name string // in the archive
	path string // on disk
	info fs.FileInfo
	link string
}

// fileSet is what a files backup of an environment holds.
type fileSet struct {
	entries []archiveEntry
	bytes   int64 // regular files' sizes
	files   int64
	skipped []string // sockets, devices, links that leave their tree
}

// collectFiles walks what goes into files.tar.zst. Entries that could not
// be restored safely (links out of their tree, devices) are left out and
// named in skipped.
func collectFiles(ctx context.Context, p envPaths) (*fileSet, error) {
	set := &fileSet{}
	roots := []struct {
		dir, name string
		skip      func(rel string) bool
	}{
		{p.Current + "/wp-content", archWPContent, func(rel string) bool {
			// The uploads link is shared/uploads (archived below); caches are rebuilt.
			return rel == "uploads" || rel == "cache"
		}},
		{p.Shared + "/uploads", archUploads, nil},
		{p.Shared + "/wp-config.d", archConfig + "/wp-config.d", nil},
	}
	for _, r := range roots {
		if err := set.walk(ctx, r.dir, r.name, r.skip); err != nil {
			return nil, err
		}
	}
	cfg := p.Shared + "/wp-config.php"
	if fi, err := os.Lstat(cfg); err == nil && fi.Mode().IsRegular() {
		set.add(archiveEntry{name: archConfig + "/wp-config.php", path: cfg, info: fi})
	}
	return set, nil
}

func (s *fileSet) add(e archiveEntry) {
	s.entries = append(s.entries, e)
	if e.info.Mode().IsRegular() {
		s.bytes += e.info.Size()
		s.files++
	}
}

// walk adds the tree at dir under name. A missing tree is empty.
func (s *fileSet) walk(ctx context.Context, dir, name string, skip func(string) bool) error {
	root, err := os.Stat(dir) // dir itself may be reached through current
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if !root.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel != "." && skip != nil && skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		archName := name
		if rel != "." {
			archName = name + "/" + rel
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		if rel == "." {
			info = root
		}
		switch mode := info.Mode(); {
		case mode.IsDir(), mode.IsRegular():
			s.add(archiveEntry{name: archName, path: p, info: info})
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if !linkStaysInside(archName, target, topOf(archName)) {
				s.skipped = append(s.skipped, archName+" (a link out of "+topOf(archName)+")")
				return nil
			}
			s.add(archiveEntry{name: archName, path: p, info: info, link: target})
		default:
			s.skipped = append(s.skipped, archName+" (not a file, directory or link)")
		}
		return nil
	})
}

// topOf is the tree an archive name belongs to, which its links must not
// leave: wp-content, uploads or config/wp-config.d.
func topOf(name string) string {
	if strings.HasPrefix(name, archConfig+"/") {
		return archConfig + "/wp-config.d"
	}
	top, _, _ := strings.Cut(name, "/")
	return top
}

// linkStaysInside reports whether the symlink name -> target, resolved
// lexically from the link's directory, stays within tree.
func linkStaysInside(name, target, tree string) bool {
	if target == "" || path.IsAbs(target) || strings.ContainsRune(target, 0) {
		return false
	}
	resolved := path.Join(path.Dir(name), target)
	return resolved == tree || strings.HasPrefix(resolved, tree+"/")
}

// writeArchive writes the set as a PAX tar to w. A file that changed
// while it was read is archived with the size it had when opened (cut or
// padded with zeros) and named in changed.
func writeArchive(ctx context.Context, w io.Writer, set *fileSet) (changed []string, err error) {
	tw := tar.NewWriter(w)
	buf := make([]byte, 1<<20)
	for _, e := range set.entries {
		if err := ctx.Err(); err != nil {
			return changed, err
		}
		var f *os.File
		info := e.info
		if info.Mode().IsRegular() {
			f, err = os.Open(e.path)
			if errors.Is(err, fs.ErrNotExist) {
				changed = append(changed, e.name+" (removed)")
				continue
			} else if err != nil {
				return changed, err
			}
			if info, err = f.Stat(); err != nil || !info.Mode().IsRegular() {
				f.Close()
				if err == nil {
					err = fmt.Errorf("%s is no longer a file", e.path)
				}
				return changed, err
			}
		}
		hdr, err := tar.FileInfoHeader(info, e.link)
		if err != nil {
			if f != nil {
				f.Close()
			}
			return changed, err
		}
		hdr.Name = e.name
		if info.IsDir() {
			hdr.Name += "/"
		}
		// Owners are the restoring environment's; only modes and times travel.
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(hdr); err != nil {
			if f != nil {
				f.Close()
			}
			return changed, err
		}
		if f != nil {
			n, err := io.CopyBuffer(tw, io.LimitReader(f, hdr.Size), buf)
			f.Close()
			if err != nil {
				return changed, err
			}
			if n < hdr.Size {
				changed = append(changed, e.name+" (shrank)")
				if _, err := io.CopyN(tw, zeros{}, hdr.Size-n); err != nil {
					return changed, err
				}
			}
		}
	}
	return changed, tw.Close()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
