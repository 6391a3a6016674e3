package vault

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeAtomic writes data to a temp file beside path, fsyncs it, and then
// either renames it over path or (noReplace) links it into place, failing
// with an fs.ErrExist error if path exists. The directory is fsynced after,
// so the new name survives a crash. On any failure the temp file is removed
// and path is as it was.
func writeAtomic(path string, data []byte, noReplace bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp makes 0600 already; chmod guards against an odd umask
	// implementation and states the intent.
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("chmod temp file: %w", err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write temp file: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("fsync temp file: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close temp file: %w", err)
	}
	if noReplace {
		if err = publishNoReplace(tmp, path); err != nil {
			return fmt.Errorf("publish vault: %w", err)
		}
	} else if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace vault: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	return nil
}

// tempPattern names the temp files of the vault at path.
func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// removeStaleTemps deletes temp files that a killed writer left beside the
// vault. Temp files are only ever made under the lock, so any found by the
// lock's holder belongs to a process that died mid-write. Failing to remove
// one is not worth failing a write for: it is reported to nobody and tried
// again at the next write.
func removeStaleTemps(path string) {
	stale, _ := filepath.Glob(filepath.Join(filepath.Dir(path), tempPattern(path)))
	for _, f := range stale {
		os.Remove(f)
	}
}
