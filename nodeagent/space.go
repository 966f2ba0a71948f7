package nodeagent

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/pressluft/pressluft/agent/protocol"
)

// spaceMargin is kept free beyond every estimate: the site and the
// database go on writing while a backup or a restore runs.
const spaceMargin = 256 << 20

// spaceNeed is room a step will take on the filesystem that holds path.
type spaceNeed struct {
	path  string
	bytes int64
	what  string
}

// freeSpace is what unprivileged writers may still use on path's
// filesystem (root's reserve is left alone), and the filesystem's device.
func freeSpace(path string) (int64, uint64, error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(path, &fs); err != nil {
		return 0, 0, err
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, 0, err
	}
	return int64(fs.Bavail) * int64(fs.Bsize), uint64(st.Dev), nil
}

// checkSpace refuses with insufficient_space, naming the numbers, when a
// filesystem lacks room for what the needs on it add up to plus the margin.
// Needs on one filesystem are added together.
func checkSpace(needs []spaceNeed, free func(string) (int64, uint64, error)) error {
	type fsNeed struct {
		path  string
		free  int64
		bytes int64
		what  []string
	}
	byDev := map[uint64]*fsNeed{}
	var order []uint64
	for _, n := range needs {
		avail, dev, err := free(n.path)
		if err != nil {
			return fmt.Errorf("free space of %s: %w", n.path, err)
		}
		f := byDev[dev]
		if f == nil {
			f = &fsNeed{path: n.path, free: avail}
			byDev[dev] = f
			order = append(order, dev)
		}
		f.bytes += n.bytes
		f.what = append(f.what, fmt.Sprintf("%s %s", n.what, mb(n.bytes)))
	}
	sort.Slice(order, func(i, j int) bool { return byDev[order[i]].path < byDev[order[j]].path })
	for _, dev := range order {
		f := byDev[dev]
		if want := f.bytes + spaceMargin; want > f.free {
			return errorf(protocol.ErrInsufficientSpace,
				"not enough free space on the filesystem of %s: %s needed (%s, and a margin of %s), %s free; nothing was written. Free some space (old backups, releases, logs) or grow the disk, then retry",
				f.path, mb(want), strings.Join(f.what, ", "), mb(spaceMargin), mb(f.free))
		}
	}
	return nil
}

// mb formats a byte count for people.
func mb(n int64) string {
	switch {
	case n >= 10<<30:
		return fmt.Sprintf("%.0f GB", float64(n)/1e9)
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// dirOf is the nearest existing directory at or above path, whose
// filesystem a new file at path would land on.
func dirOf(path string) string {
	for p := path; p != "/" && p != "."; p = parentDir(p) {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
	}
	return "/"
}

func parentDir(p string) string {
	if i := strings.LastIndexByte(strings.TrimSuffix(p, "/"), '/'); i > 0 {
		return p[:i]
	}
	return "/"
}
