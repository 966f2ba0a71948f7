package testnode

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// mountsUnder lists mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dir = filepath.Clean(dir)
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for space etc.).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountAll unmounts everything at or below dir, retrying briefly while a
// just-stopped node releases its files, then detaching as a last resort.
func unmountAll(dir string) error {
	for attempt := 0; ; attempt++ {
		mps, err := mountsUnder(dir)
		if err != nil || len(mps) == 0 {
			return err
		}
		flags := 0
		if attempt >= 20 {
			flags = syscall.MNT_DETACH
		}
		for _, mp := range mps {
			_ = syscall.Unmount(mp, flags)
		}
		if attempt > 21 {
			return fmt.Errorf("testnode: still mounted: %s", strings.Join(mps, ", "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// removeTree deletes dir after unmounting whatever is mounted below it. It
// refuses to delete while anything is still mounted there: walking into a
// mounted /proc, /sys or overlay must never happen.
func removeTree(dir string) error {
	if err := unmountAll(dir); err != nil {
		return err
	}
	if mps, err := mountsUnder(dir); err != nil || len(mps) > 0 {
		return errors.Join(err, fmt.Errorf("testnode: refusing to delete %s: mounts below it", dir))
	}
	return os.RemoveAll(dir)
}
