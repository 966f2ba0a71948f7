package nodeagent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"github.com/pressluft/pressluft/agent/protocol"
	"golang.org/x/sys/unix"
)

// runtimeEntries are the top entries of wp-content that WordPress or
// common plugins write while the site runs: content and caches, not code.
// A drift check leaves them out and a promotion does not copy them.
//   - uploads: the media library, shared between releases;
//   - upgrade, upgrade-temp-backup: WordPress's upgrader's work space;
//   - cache: page caches and minified assets (WP Super Cache, W3TC, ...);
//   - debug.log: WP_DEBUG_LOG's output;
//   - wflogs (Wordfence), updraft and ai1wm-backups (backup plugins).
var runtimeEntries = map[string]bool{
	"uploads": true, "upgrade": true, "upgrade-temp-backup": true, "cache": true,
	"debug.log": true, "wflogs": true, "updraft": true, "ai1wm-backups": true,
}

// twoLevelDirs are the wp-content directories whose entries (each plugin,
// each theme) are hashed one by one.
var twoLevelDirs = map[string]bool{"plugins": true, "themes": true, "mu-plugins": true}

// contentEntries lists the entries of the wp-content directory dir that
// a drift check hashes: "plugins/akismet", "mu-plugins/x.php",
// "languages", "index.php" (a plugins directory that is empty is an entry
// of its own, so its removal shows).
func contentEntries(dir string) ([]string, error) {
	top, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range top {
		name := e.Name()
		if runtimeEntries[name] {
			continue
		}
		if !twoLevelDirs[name] || e.Type()&fs.ModeType != fs.ModeDir {
			out = append(out, name)
			continue
		}
		sub, err := os.ReadDir(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if len(sub) == 0 {
			out = append(out, name)
		}
		for _, s := range sub {
			out = append(out, name+"/"+s.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// hashContent hashes each entry of the wp-content directory dir (on all
// cores) and answers the hashes and a sha256 over the sorted "name=hash"
// lines.
func hashContent(ctx context.Context, dir string) (map[string]string, string, error) {
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return nil, "", errorf(protocol.ErrNotFound, "%s is not a directory", dir)
	}
	entries, err := contentEntries(dir)
	if err != nil {
		return nil, "", err
	}
	hashes := make([]string, len(entries))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range max(runtime.NumCPU(), 2) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				h, err := hashTree(ctx, filepath.Join(dir, entries[i]))
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("hashing %s: %w", entries[i], err)
					}
					mu.Unlock()
				}
				hashes[i] = h
			}
		}()
	}
	for i := range entries {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if ctx.Err() != nil {
		return nil, "", errorf(protocol.ErrCancelled, "cancelled while hashing wp-content")
	}
	if firstErr != nil {
		return nil, "", firstErr
	}
	paths := make(map[string]string, len(entries))
	all := sha256.New()
	for i, e := range entries {
		paths[e] = hashes[i]
		fmt.Fprintf(all, "%s=%s\n", e, hashes[i])
	}
	return paths, hex.EncodeToString(all.Sum(nil)), nil
}

// hashTree is a sha256 over the tree at root in a sorted walk: per entry
// its kind, permission bits and relative name, then a file's size and
// content hash or a symlink's target. Owners and times are left out (a
// copy differs in them); links are never followed.
func hashTree(ctx context.Context, root string) (string, error) {
	h := sha256.New()
	var walk func(path, rel string) error
	walk = func(path, rel string) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		mode := fi.Mode()
		kind := "o"
		switch {
		case mode.IsDir():
			kind = "d"
		case mode.IsRegular():
			kind = "f"
		case mode&fs.ModeSymlink != 0:
			kind = "l"
		}
		fmt.Fprintf(h, "%s %04o %d:%s", kind, unixPerm(mode), len(rel), rel)
		switch kind {
		case "f":
			sum, n, err := hashEntryFile(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, " %d %x\n", n, sum)
		case "l":
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, " %d:%s\n", len(target), target)
		case "d":
			h.Write([]byte{'\n'})
			names, err := readDirNames(path)
			if err != nil {
				return err
			}
			for _, name := range names {
				if err := walk(path+"/"+name, joinRel(rel, name)); err != nil {
					return err
				}
			}
		default:
			h.Write([]byte{'\n'})
		}
		return nil
	}
	if err := walk(root, "."); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readDirNames lists a directory's names in byte order.
func readDirNames(path string) ([]string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

func joinRel(rel, name string) string {
	if rel == "." {
		return name
	}
	return rel + "/" + name
}

// unixPerm is the permission bits with set-id and sticky as chmod writes
// them.
func unixPerm(m fs.FileMode) uint32 {
	p := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		p |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		p |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		p |= 0o1000
	}
	return p
}

// hashEntryFile is the sha256 and size of the regular file at path, opened
// without following a link (the environment's user may swap one in).
func hashEntryFile(path string) ([]byte, int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, 0, err
	}
	return h.Sum(nil), n, nil
}
