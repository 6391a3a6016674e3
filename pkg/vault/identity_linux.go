package vault

import (
	"io/fs"
	"syscall"
)

// fileIdentity tells whether the file at a path is still the one we read.
type fileIdentity struct {
	dev, ino uint64
	size     int64
	mtimeNs  int64
	ctimeNs  int64
}

func identityOf(fi fs.FileInfo) fileIdentity {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileIdentity{size: fi.Size(), mtimeNs: fi.ModTime().UnixNano()}
	}
	return fileIdentity{
		dev: uint64(st.Dev), ino: st.Ino, size: fi.Size(),
		mtimeNs: fi.ModTime().UnixNano(), ctimeNs: st.Ctim.Nano(),
	}
}
