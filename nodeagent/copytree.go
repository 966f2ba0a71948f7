package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// copyOptions say how copyTree copies.
type copyOptions struct {
	// FollowSymlinks copies what symlinks point to (cp -L); otherwise the
	// links themselves are copied (rsync -a).
	FollowSymlinks bool
	// Exclude skips a path relative to the source root ("wp-config.php",
	// "wp-content/uploads") with everything under it.
	Exclude func(rel string) bool
	// UID and GID own everything copied; -1 keeps the agent's own.
	UID, GID int
	// Workers copy files in parallel.
	Workers int
}

type copyStats struct {
	Files int
	Dirs  int
	Bytes int64
}

type fileJob struct {
	src, dst string
	info     os.FileInfo
}

// copyTree copies the tree at src into dst, which must not exist. File
// contents go through io.Copy between *os.File values: on Linux that is
// copy_file_range, which shares extents (reflinks) where the filesystem
// can. Modes and modification times are kept.
func copyTree(ctx context.Context, src, dst string, opt copyOptions) (copyStats, error) {
	if opt.Workers < 1 {
		opt.Workers = 4
	}
	c := &treeCopier{opt: opt, jobs: make(chan fileJob, 256)}
	var wg sync.WaitGroup
	for range opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range c.jobs {
				if ctx.Err() != nil || c.failed() {
					continue
				}
				n, err := c.copyFile(job)
				c.done(n, err)
			}
		}()
	}
	rootInfo, err := os.Stat(src)
	if err == nil && !rootInfo.IsDir() {
		err = fmt.Errorf("%s is not a directory", src)
	}
	if err == nil {
		err = c.walk(ctx, src, dst, "", rootInfo, nil)
	}
	close(c.jobs)
	wg.Wait()
	if err == nil {
		err = c.firstErr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		// Directory times last: creating their entries changed them.
		for i := len(c.dirTimes) - 1; i >= 0; i-- {
			d := c.dirTimes[i]
			if err := os.Chtimes(d.path, d.mtime, d.mtime); err != nil {
				return c.stats, err
			}
		}
	}
	return c.stats, err
}

type dirTime struct {
	path  string
	mtime time.Time
}

type treeCopier struct {
	opt      copyOptions
	jobs     chan fileJob
	mu       sync.Mutex
	stats    copyStats
	firstErr error
	dirTimes []dirTime
}

func (c *treeCopier) failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.firstErr != nil
}

func (c *treeCopier) done(n int64, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if c.firstErr == nil {
			c.firstErr = err
		}
		return
	}
	c.stats.Files++
	c.stats.Bytes += n
}

// ancestor identifies a directory on the current path, to stop symlink loops.
type ancestor struct{ dev, ino uint64 }

func (c *treeCopier) walk(ctx context.Context, src, dst, rel string, info os.FileInfo, parents []ancestor) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		id := ancestor{uint64(st.Dev), st.Ino}
		for _, p := range parents {
			if p == id {
				return fmt.Errorf("symlink loop at %s", src)
			}
		}
		parents = append(parents, id)
	}
	if err := os.Mkdir(dst, info.Mode().Perm()|0o700); err != nil {
		return err
	}
	if err := c.own(dst); err != nil {
		return err
	}
	c.mu.Lock()
	c.stats.Dirs++
	c.dirTimes = append(c.dirTimes, dirTime{dst, info.ModTime()})
	c.mu.Unlock()
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		childRel := e.Name()
		if rel != "" {
			childRel = rel + "/" + e.Name()
		}
		if c.opt.Exclude != nil && c.opt.Exclude(childRel) {
			continue
		}
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		fi, err := os.Lstat(s)
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			if !c.opt.FollowSymlinks {
				if err := c.copySymlink(s, d); err != nil {
					return err
				}
				continue
			}
			if fi, err = os.Stat(s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		switch {
		case fi.IsDir():
			if err := c.walk(ctx, s, d, childRel, fi, parents); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			select {
			case c.jobs <- fileJob{src: s, dst: d, info: fi}:
			case <-ctx.Done():
				return ctx.Err()
			}
		default:
			// Sockets, fifos and devices have no place in a site's files.
		}
	}
	// Mode last: a read-only directory must still take its entries.
	return os.Chmod(dst, info.Mode().Perm())
}

func (c *treeCopier) copySymlink(src, dst string) error {
	target, err := os.Readlink(src)
	if err != nil {
		return err
	}
	if err := os.Symlink(target, dst); err != nil {
		return err
	}
	return c.own(dst)
}

func (c *treeCopier) copyFile(job fileJob) (int64, error) {
	in, err := os.Open(job.src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(job.dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, job.info.Mode().Perm())
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if err == nil && (c.opt.UID >= 0 || c.opt.GID >= 0) {
		err = out.Chown(c.opt.UID, c.opt.GID)
	}
	if err == nil {
		// Chown clears set-id bits; the mode is set again after it.
		err = out.Chmod(job.info.Mode().Perm())
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(job.dst, job.info.ModTime(), job.info.ModTime())
	}
	if err != nil {
		return 0, fmt.Errorf("copy %s: %w", job.src, err)
	}
	return n, nil
}

// own never follows a symlink: the new owner may already rename entries in
// the tree's parent, and a swapped-in link must not pass ownership on.
func (c *treeCopier) own(path string) error {
	if c.opt.UID < 0 && c.opt.GID < 0 {
		return nil
	}
	return os.Lchown(path, c.opt.UID, c.opt.GID)
}

// removeAll is os.RemoveAll that treats a missing path as done.
func removeAll(path string) error {
	err := os.RemoveAll(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
