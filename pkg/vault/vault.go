package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"filippo.io/age"
)

// Option configures Open and Create.
type Option func(*options)

type options struct {
	workFactor int
}

// WithWorkFactor sets the scrypt work factor (log2 N) used when this Vault
// writes. Tests use MinWorkFactor because the race detector makes scrypt
// about 7x slower; a vault opened from a file keeps the file's own factor
// unless this option is given.
func WithWorkFactor(logN int) Option { return func(o *options) { o.workFactor = logN } }

// Vault is an open vault file. It is safe for concurrent use; every method
// that writes takes the cross-process lock.
type Vault struct {
	path       string
	lockPath   string
	passphrase string

	mu         sync.Mutex
	workFactor int
	doc        *Document // as last read or written; never handed out for writing
	plain      []byte    // doc's encoding, to hand copies to updaters
	header     []byte    // the age header of the file doc came from
	fileKey    []byte    // that file's key, to re-read it without scrypt
	ident      fileIdentity
}

// fileIdentity tells whether the file at a path is still the one we read.
type fileIdentity struct {
	dev, ino uint64
	size     int64
	mtimeNs  int64
}

func identityOf(fi fs.FileInfo) fileIdentity {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileIdentity{size: fi.Size(), mtimeNs: fi.ModTime().UnixNano()}
	}
	return fileIdentity{dev: uint64(st.Dev), ino: st.Ino, size: fi.Size(), mtimeNs: fi.ModTime().UnixNano()}
}

// LockPath is the lock file used for a vault at path.
func LockPath(path string) string { return path + ".lock" }

func validWorkFactor(n int) error {
	if n < MinWorkFactor || n > MaxWorkFactor {
		return fmt.Errorf("%w: %d is not between %d and %d", ErrWorkFactor, n, MinWorkFactor, MaxWorkFactor)
	}
	return nil
}

// checkDir refuses a vault directory with any group or other bit.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return pathErr(dir, ErrMissing, "run 'docker-credential-anchore vault init'")
		}
		return fmt.Errorf("vault directory: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return pathErr(dir, fmt.Errorf("%w: directory mode %04o", ErrPermissions, fi.Mode().Perm()), "chmod 700 it")
	}
	return nil
}

// readFileChecked reads the vault file after checking it and its directory
// for permissions.
func readFileChecked(path string) ([]byte, error) {
	b, _, err := readFileIdent(path)
	return b, err
}

func readFileIdent(path string) ([]byte, fileIdentity, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if derr := checkDir(filepath.Dir(path)); derr != nil && !errors.Is(derr, ErrMissing) {
				return nil, fileIdentity{}, derr
			}
			return nil, fileIdentity{}, pathErr(path, ErrMissing, "run 'docker-credential-anchore vault init' to create it")
		}
		return nil, fileIdentity{}, fmt.Errorf("open vault: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileIdentity{}, fmt.Errorf("stat vault: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fileIdentity{}, pathErr(path, fmt.Errorf("%w: file mode %04o", ErrPermissions, fi.Mode().Perm()), "chmod 600 it")
	}
	if err := checkDir(filepath.Dir(path)); err != nil {
		return nil, fileIdentity{}, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fileIdentity{}, fmt.Errorf("read vault: %w", err)
	}
	return b, identityOf(fi), nil
}

// Open opens the vault at path with passphrase. It costs one scrypt.
func Open(ctx context.Context, path, passphrase string, opts ...Option) (*Vault, error) {
	if passphrase == "" {
		return nil, errors.New("empty passphrase")
	}
	v := &Vault{path: path, lockPath: LockPath(path), passphrase: passphrase}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.workFactor != 0 {
		if err := validWorkFactor(o.workFactor); err != nil {
			return nil, err
		}
	}
	if err := v.load(); err != nil {
		return nil, err
	}
	if o.workFactor != 0 {
		v.workFactor = o.workFactor
	}
	return v, nil
}

// load reads and decrypts the file into v. The caller holds v.mu or owns v.
// When the header is unchanged since the last read, the cached file key
// decrypts without scrypt.
func (v *Vault) load() error {
	b, ident, err := readFileIdent(v.path)
	if err != nil {
		return err
	}
	info, err := readHeader(bytes.NewReader(b))
	if err != nil {
		return pathErr(v.path, err, hintFor(err))
	}
	var id age.Identity
	var fileKey []byte
	if v.fileKey != nil && bytes.Equal(info.Header, v.header) {
		id = age.NewInjectedFileKeyIdentity(v.fileKey)
		fileKey = v.fileKey
	} else {
		sid, err := age.NewScryptIdentity(v.passphrase)
		if err != nil {
			return err
		}
		sid.SetMaxWorkFactor(MaxWorkFactor)
		// DecryptHeader runs the one scrypt and checks the header MAC; the
		// file key it returns then decrypts the payload.
		fileKey, err = age.DecryptHeader(info.Header, sid)
		if err != nil {
			return pathErr(v.path, classifyDecryptErr(err), hintFor(classifyDecryptErr(err)))
		}
		id = age.NewInjectedFileKeyIdentity(fileKey)
	}
	r, err := age.Decrypt(bytes.NewReader(b), id)
	if err != nil {
		return pathErr(v.path, classifyDecryptErr(err), "")
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return pathErr(v.path, fmt.Errorf("%w: payload does not authenticate (tampered or truncated)", ErrDamaged), "restore it from a backup")
	}
	doc, err := ParseDocument(plain)
	if err != nil && !errors.Is(err, ErrNewerVersion) {
		return pathErr(v.path, err, "")
	}
	v.doc, v.plain, v.header, v.fileKey, v.ident, v.workFactor = doc, plain, info.Header, fileKey, ident, info.WorkFactor
	if err != nil {
		// Keep what we learned so status can report it, but refuse use.
		return pathErr(v.path, err, "upgrade docker-credential-anchore and anchored")
	}
	return nil
}

func classifyDecryptErr(err error) error {
	var nm *age.NoIdentityMatchError
	switch {
	case errors.As(err, &nm), errors.Is(err, age.ErrIncorrectIdentity):
		return ErrWrongPassphrase
	default:
		// Everything else age reports after a successful unwrap is a failed
		// MAC or payload authentication: tampering or truncation.
		return fmt.Errorf("%w: %v", ErrDamaged, err)
	}
}

func hintFor(err error) string {
	switch {
	case errors.Is(err, ErrWrongPassphrase):
		return "check ANCHORE_VAULT_PASSPHRASE_FILE or the passphrase you typed"
	case errors.Is(err, ErrDamaged):
		return "restore it from a backup"
	case errors.Is(err, ErrNotVault):
		return "point --vault at a vault made by 'vault init'"
	case errors.Is(err, ErrWorkFactor):
		return "refusing to spend that much CPU and memory"
	}
	return ""
}

// Path is the vault file's path.
func (v *Vault) Path() string { return v.path }

// WorkFactor is the scrypt work factor of the file as last read or written.
func (v *Vault) WorkFactor() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.workFactor
}

// Document returns the document as last read or written. It is shared:
// callers must treat it as read-only (Update hands out a private copy).
func (v *Vault) Document() *Document {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.doc
}

// Refresh re-reads the file if it changed since this Vault last read or
// wrote it (device, inode, size, mtime), and reports whether it did. The
// daemon calls it before answering, so changes made by management commands
// are seen.
func (v *Vault) Refresh(ctx context.Context) (bool, error) {
	fi, err := os.Stat(v.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, pathErr(v.path, ErrMissing, "")
		}
		return false, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if identityOf(fi) == v.ident {
		return false, nil
	}
	if err := v.load(); err != nil {
		return false, err
	}
	return true, nil
}

// Update applies fn to a private copy of the current document under the
// exclusive lock, and writes the result if fn returns nil. The file is
// re-read under the lock (no scrypt when its header is unchanged), so no
// update made by another process is lost. If fn returns an error nothing is
// written and the error is returned as it is.
func (v *Vault) Update(ctx context.Context, fn func(*Document) error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	lk, err := lockFile(ctx, v.lockPath)
	if err != nil {
		return err
	}
	defer lk.unlock()
	if err := v.reloadIfChanged(); err != nil {
		return err
	}
	if v.doc.Version > FormatVersion {
		return pathErr(v.path, ErrNewerVersion, "upgrade before changing it")
	}
	work, err := ParseDocument(v.plain)
	if err != nil {
		return err
	}
	if err := fn(work); err != nil {
		return err
	}
	return v.writeLocked(work, v.passphrase, v.workFactor)
}

func (v *Vault) reloadIfChanged() error {
	fi, err := os.Stat(v.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return pathErr(v.path, ErrMissing, "")
		}
		return err
	}
	if identityOf(fi) == v.ident {
		return nil
	}
	return v.load()
}

// Rekey re-encrypts the vault under a new passphrase and work factor.
func (v *Vault) Rekey(ctx context.Context, newPassphrase string, workFactor int) error {
	if newPassphrase == "" {
		return errors.New("empty passphrase")
	}
	if err := validWorkFactor(workFactor); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	lk, err := lockFile(ctx, v.lockPath)
	if err != nil {
		return err
	}
	defer lk.unlock()
	if err := v.reloadIfChanged(); err != nil {
		return err
	}
	if v.doc.Version > FormatVersion {
		return pathErr(v.path, ErrNewerVersion, "")
	}
	work, err := ParseDocument(v.plain)
	if err != nil {
		return err
	}
	if err := v.writeLocked(work, newPassphrase, workFactor); err != nil {
		return err
	}
	v.passphrase = newPassphrase
	return nil
}

// encrypt seals doc for passphrase and returns the file bytes, the header
// and the file key.
func encrypt(doc *Document, passphrase string, workFactor int) (file, plain, fileKey []byte, err error) {
	plain, err = doc.Marshal()
	if err != nil {
		return nil, nil, nil, err
	}
	sr, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, nil, nil, err
	}
	sr.SetWorkFactor(workFactor)
	rec := &capturingRecipient{inner: sr}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rec)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("encrypt vault: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, nil, nil, fmt.Errorf("encrypt vault: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, nil, nil, fmt.Errorf("encrypt vault: %w", err)
	}
	return buf.Bytes(), plain, rec.fileKey, nil
}

// writeLocked encrypts doc and atomically replaces the vault. The caller
// holds v.mu and the file lock.
func (v *Vault) writeLocked(doc *Document, passphrase string, workFactor int) error {
	file, plain, fileKey, err := encrypt(doc, passphrase, workFactor)
	if err != nil {
		return err
	}
	if err := writeAtomic(v.path, file, false); err != nil {
		return err
	}
	return v.adopt(doc, plain, file, fileKey, workFactor)
}

// adopt records a file this Vault just wrote as its current state.
func (v *Vault) adopt(doc *Document, plain, file, fileKey []byte, workFactor int) error {
	fi, err := os.Stat(v.path)
	if err != nil {
		return fmt.Errorf("stat vault after write: %w", err)
	}
	hdr, err := age.ExtractHeader(bytes.NewReader(file))
	if err != nil {
		return fmt.Errorf("read back header: %w", err)
	}
	v.doc, v.plain, v.header, v.fileKey, v.ident, v.workFactor = doc, plain, hdr, fileKey, identityOf(fi), workFactor
	return nil
}

// Create makes a new vault at path holding doc (an empty document if nil).
// It creates the directory (0700) if needed, takes the directory's lock,
// and publishes with link(2), so it never replaces an existing vault: if one
// exists it returns an error wrapping ErrExists and leaves it untouched.
func Create(ctx context.Context, path, passphrase string, doc *Document, opts ...Option) (*Vault, error) {
	if passphrase == "" {
		return nil, errors.New("empty passphrase")
	}
	o := options{workFactor: DefaultWorkFactor}
	for _, opt := range opts {
		opt(&o)
	}
	if err := validWorkFactor(o.workFactor); err != nil {
		return nil, err
	}
	if doc == nil {
		doc = NewDocument()
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create vault directory: %w", err)
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	v := &Vault{path: path, lockPath: LockPath(path), passphrase: passphrase}
	lk, err := lockFile(ctx, v.lockPath)
	if err != nil {
		return nil, err
	}
	defer lk.unlock()
	if _, err := os.Lstat(path); err == nil {
		return nil, pathErr(path, ErrExists, "use it, or move it away first")
	}
	file, plain, fileKey, err := encrypt(doc, passphrase, o.workFactor)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(path, file, true); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, pathErr(path, ErrExists, "use it, or move it away first")
		}
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.adopt(doc, plain, file, fileKey, o.workFactor); err != nil {
		return nil, err
	}
	return v, nil
}

// Exists reports whether a vault file is at path (whatever its state).
func Exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
