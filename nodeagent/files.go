package nodeagent

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
)

// writeFile replaces path with data through a temporary file in the same
// directory and a rename, so a reader sees the old or the new file whole.
// uid/gid -1 keep the agent's own.
func writeFile(path string, data []byte, mode os.FileMode, uid, gid int) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if uid >= 0 || gid >= 0 {
		if err := tmp.Chown(uid, gid); err != nil {
			return err
		}
	}
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	ok = true
	return nil
}

// createFileOnce writes path only when it does not exist yet (a link of a
// complete temporary file, so a crash never leaves half a file). It
// reports whether it wrote.
func createFileOnce(path string, data []byte, mode os.FileMode, uid, gid int) (bool, error) {
	if exists(path) {
		return false, nil
	}
	tmp := path + ".new"
	if err := writeFile(tmp, data, mode, uid, gid); err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// sameFile reports whether path holds exactly data, with the given mode.
func sameFile(path string, data []byte, mode os.FileMode) bool {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != mode {
		return false
	}
	old, err := os.ReadFile(path)
	return err == nil && bytes.Equal(old, data)
}

// removeFile removes path and reports whether it was there.
func removeFile(path string) (bool, error) {
	err := os.Remove(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
