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

	"filippo.io/age"
)

// Option configures Open and Create.
type Option func(*options)

type options struct {
	workFactor int
	kdf        func() // called before every scrypt derivation; tests count them
}

// WithWorkFactor sets the scrypt work factor (log2 N) used when this Vault
// writes. Tests use MinWorkFactor because the race detector makes scrypt
// about 7x slower; a vault opened from a file keeps the file's own factor
// unless this option is given.
func WithWorkFactor(logN int) Option { return func(o *options) { o.workFactor = logN } }

// withKDFHook makes the Vault call fn before each scrypt derivation (one per
// header unwrap, one per write), so tests assert how many ran rather than
// how long things took.
func withKDFHook(fn func()) Option { return func(o *options) { o.kdf = fn } }

// Vault is an open vault file. It is safe for concurrent use; every method
// that writes takes the cross-process lock.
type Vault struct {
	path       string
	lockPath   string
	kdf        func()
	mu         sync.Mutex
	passphrase string
	workFactor int       // of the file as last read or written
	forced     int       // WithWorkFactor's, which writes use instead; 0: none
	doc        *Document // as last read or written; shared read-only
	header     []byte    // the age header of the file doc came from
	fileKey    []byte    // that file's key, to re-read it without scrypt
	ident      fileIdentity
}

// LockPath is the lock file used for a vault at path.
func LockPath(path string) string { return path + ".lock" }

func validWorkFactor(n int) error {
	if n < MinWorkFactor || n > MaxWorkFactor {
		return fmt.Errorf("%w: %d is not between %d and %d", ErrWorkFactor, n, MinWorkFactor, MaxWorkFactor)
	}
	return nil
}

// checkDir refuses a vault directory with any group or other bit, as ssh
// refuses a key in a directory others can write: they could swap the file.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return pathErr(dir, ErrMissing, hintFor(ErrMissing))
		}
		return fmt.Errorf("vault directory: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return pathErr(dir, fmt.Errorf("%w: directory mode %04o", ErrPermissions, perm), "chmod 700 "+dir)
	}
	return nil
}

// openChecked opens the vault file after checking it and its directory for
// permissions; the caller closes the file.
func openChecked(path string) (*os.File, fileIdentity, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if derr := checkDir(filepath.Dir(path)); derr != nil && !errors.Is(derr, ErrMissing) {
				return nil, fileIdentity{}, derr
			}
			return nil, fileIdentity{}, pathErr(path, ErrMissing, hintFor(ErrMissing))
		}
		return nil, fileIdentity{}, fmt.Errorf("open vault: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fileIdentity{}, fmt.Errorf("stat vault: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fileIdentity{}, pathErr(path, fmt.Errorf("%w: not a regular file", ErrNotVault), hintFor(ErrNotVault))
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		f.Close()
		return nil, fileIdentity{}, pathErr(path, fmt.Errorf("%w: file mode %04o", ErrPermissions, perm), "chmod 600 "+path)
	}
	if err := checkDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, fileIdentity{}, err
	}
	return f, identityOf(fi), nil
}

// maxFileSize caps what is read into memory: far above any real vault
// (10,000 registry entries are about 3 MiB), far below what hurts.
const maxFileSize = 256 << 20

func readChecked(path string) ([]byte, fileIdentity, error) {
	f, ident, err := openChecked(path)
	if err != nil {
		return nil, fileIdentity{}, err
	}
	defer f.Close()
	b, err := readOpened(path, f, ident)
	return b, ident, err
}

// readOpened reads the whole of f, an open vault file, from its start.
func readOpened(path string, f *os.File, ident fileIdentity) ([]byte, error) {
	if ident.size > maxFileSize {
		return nil, pathErr(path, fmt.Errorf("%w: larger than %d MiB", ErrNotVault, maxFileSize>>20), "")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read vault: %w", err)
	}
	// Read into a buffer of the file's size (plus one byte to see EOF at
	// once): a growing buffer would copy a large vault several times.
	buf := bytes.NewBuffer(make([]byte, 0, ident.size+1))
	if _, err := buf.ReadFrom(io.LimitReader(f, maxFileSize)); err != nil {
		return nil, fmt.Errorf("read vault: %w", err)
	}
	return buf.Bytes(), nil
}

// Open opens the vault at path with passphrase. It costs one scrypt. Every
// error wraps one of the package's sentinels and reads as one line naming
// the path and what to do.
func Open(ctx context.Context, path, passphrase string, opts ...Option) (*Vault, error) {
	if passphrase == "" {
		return nil, ErrEmptyPassphrase
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.workFactor != 0 {
		if err := validWorkFactor(o.workFactor); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v := &Vault{path: path, lockPath: LockPath(path), passphrase: passphrase, kdf: o.kdf}
	if err := v.load(); err != nil {
		return nil, err
	}
	v.forced = o.workFactor
	return v, nil
}

// load reads and decrypts the file into v. The caller holds v.mu or owns v.
// On error v is left as it was.
func (v *Vault) load() error {
	b, ident, err := readChecked(v.path)
	if err != nil {
		return err
	}
	return v.loadBytes(b, ident)
}

// loadBytes decrypts b, the file's contents. When its header is the one this
// Vault last read or wrote, the cached file key decrypts without scrypt: the
// header carries a fresh salt and a MAC under a fresh file key, so equal
// headers mean a file this Vault has seen.
func (v *Vault) loadBytes(b []byte, ident fileIdentity) error {
	info, err := readHeader(bytes.NewReader(b))
	if err != nil {
		return pathErr(v.path, err, hintFor(err))
	}
	fileKey := v.fileKey
	if fileKey == nil || !bytes.Equal(info.Header, v.header) {
		fileKey, err = v.unwrap(info.Header)
		if err != nil {
			return pathErr(v.path, err, hintFor(err))
		}
	}
	r, err := age.Decrypt(bytes.NewReader(b), age.NewInjectedFileKeyIdentity(fileKey))
	if err != nil {
		// The header was checked above; what is left is a missing nonce.
		return pathErr(v.path, fmt.Errorf("%w: the payload is cut short", ErrDamaged), hintFor(ErrDamaged))
	}
	// The plaintext is a little shorter than the file: size the buffer once.
	pbuf := bytes.NewBuffer(make([]byte, 0, len(b)))
	_, err = pbuf.ReadFrom(r)
	plain := pbuf.Bytes()
	if err != nil {
		return pathErr(v.path, fmt.Errorf("%w: the payload does not authenticate (tampered with or cut short)", ErrDamaged), hintFor(ErrDamaged))
	}
	doc, err := ParseDocument(plain)
	if err != nil {
		return pathErr(v.path, err, hintFor(err))
	}
	v.doc, v.header, v.fileKey, v.ident, v.workFactor = doc, info.Header, fileKey, ident, info.WorkFactor
	return nil
}

// unwrap runs the one scrypt: it derives the stanza's key from the
// passphrase, unwraps the file key and checks the header MAC with it.
func (v *Vault) unwrap(header []byte) ([]byte, error) {
	sid, err := age.NewScryptIdentity(v.passphrase)
	if err != nil {
		return nil, ErrEmptyPassphrase
	}
	// readHeader has capped the factor already; this is age's own guard,
	// kept in case that check is ever moved.
	sid.SetMaxWorkFactor(MaxWorkFactor)
	fileKey, err := age.DecryptHeader(header, &scryptIdentity{inner: sid, kdf: v.kdf})
	switch {
	case err == nil:
		return fileKey, nil
	case errors.Is(err, errUnwrap):
		return nil, ErrWrongPassphrase
	default:
		// The stanza unwrapped, so the passphrase is right: a failing
		// header MAC means the header was changed.
		return nil, fmt.Errorf("%w: the header MAC does not verify", ErrDamaged)
	}
}

func hintFor(err error) string {
	switch {
	case errors.Is(err, ErrWrongPassphrase):
		return "check the passphrase: --passphrase-file, ANCHORE_VAULT_PASSPHRASE_FILE, ANCHORE_VAULT_PASSPHRASE or what you typed"
	case errors.Is(err, ErrDamaged):
		return "restore it from a backup; docs/vault-format.md says how to recover secrets with age -d"
	case errors.Is(err, ErrNotVault):
		return "point --vault or ANCHORE_VAULT at a vault made by 'docker-credential-anchore vault init'"
	case errors.Is(err, ErrWorkFactor):
		return "this software never writes such a file: it was tampered with or made elsewhere; restore it from a backup"
	case errors.Is(err, ErrNewerVersion):
		return "upgrade docker-credential-anchore and anchored"
	case errors.Is(err, ErrMissing):
		return "create it with 'docker-credential-anchore vault init'"
	}
	return ""
}

// Path is the vault file's path.
func (v *Vault) Path() string { return v.path }

// WorkFactor is the scrypt work factor this Vault writes with: the one given
// with WithWorkFactor, else the file's own.
func (v *Vault) WorkFactor() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.writeFactor()
}

func (v *Vault) writeFactor() int {
	if v.forced != 0 {
		return v.forced
	}
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
// wrote it (device, inode, size, mtime, ctime), and reports whether it did.
// The daemon calls it before answering, so changes made by management
// commands are seen. Update does not rely on this identity: it compares the
// header bytes under the lock.
func (v *Vault) Refresh(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	fi, err := os.Stat(v.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, pathErr(v.path, ErrMissing, hintFor(ErrMissing))
		}
		return false, fmt.Errorf("stat vault: %w", err)
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
// re-read under the lock (without scrypt when its header is the one this
// Vault last saw), so no update made by another process is lost. If fn
// returns an error nothing is written and the error is returned as it is.
// A document of a newer version is never rewritten (ErrNewerVersion). fn
// must not keep its argument: after the write it is the shared document
// that Document returns.
func (v *Vault) Update(ctx context.Context, fn func(*Document) error) error {
	return v.rewrite(ctx, fn, "", 0)
}

// Rekey re-encrypts the vault under a new passphrase and work factor.
func (v *Vault) Rekey(ctx context.Context, newPassphrase string, workFactor int) error {
	if newPassphrase == "" {
		return ErrEmptyPassphrase
	}
	if err := validWorkFactor(workFactor); err != nil {
		return err
	}
	return v.rewrite(ctx, nil, newPassphrase, workFactor)
}

// rewrite is Update and Rekey: under the lock, catch up with the file, apply
// fn to a copy, and write under the new passphrase and factor if given.
func (v *Vault) rewrite(ctx context.Context, fn func(*Document) error, newPassphrase string, newFactor int) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	lk, err := lockFile(ctx, v.lockPath)
	if err != nil {
		return err
	}
	defer lk.unlock()
	removeStaleTemps(v.path)
	if err := v.catchUp(); err != nil {
		return err
	}
	work := v.doc.Clone()
	if fn != nil {
		if err := fn(work); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	pass, factor := v.passphrase, v.writeFactor()
	if newPassphrase != "" {
		pass, factor = newPassphrase, newFactor
	}
	if err := v.writeLocked(work, pass, factor); err != nil {
		return err
	}
	v.passphrase = pass
	if newPassphrase != "" {
		v.forced = 0 // Rekey's factor is the file's own from now on
	}
	return nil
}

// catchUp brings v up to the file; the caller holds v.mu and the file lock.
// When the file's age header is the one v last read or wrote, the document
// in memory is the file's and nothing more is read: every write draws a
// fresh salt and file key, so another writer's file always has another
// header. Otherwise the file is read and decrypted (one scrypt).
func (v *Vault) catchUp() error {
	f, ident, err := openChecked(v.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if info, err := readHeader(f); err == nil && v.doc != nil && bytes.Equal(info.Header, v.header) {
		v.ident = ident
		return nil
	}
	b, err := readOpened(v.path, f, ident)
	if err != nil {
		return err
	}
	return v.loadBytes(b, ident)
}

// encrypt seals doc for passphrase and returns the file bytes and the file
// key. Every call wraps a fresh file key under a fresh salt (age does both):
// reusing a salt would reuse the stanza's key and nonce.
func encrypt(doc *Document, passphrase string, workFactor int, kdf func()) (file, fileKey []byte, err error) {
	plain, err := doc.Marshal()
	if err != nil {
		return nil, nil, err
	}
	sr, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, nil, ErrEmptyPassphrase
	}
	sr.SetWorkFactor(workFactor)
	rec := &capturingRecipient{inner: sr, kdf: kdf}
	var buf bytes.Buffer
	buf.Grow(len(plain) + len(plain)/64*16 + 256)
	w, err := age.Encrypt(&buf, rec)
	if err != nil {
		return nil, nil, fmt.Errorf("encrypt vault: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, nil, fmt.Errorf("encrypt vault: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, nil, fmt.Errorf("encrypt vault: %w", err)
	}
	return buf.Bytes(), rec.fileKey, nil
}

// writeLocked encrypts doc and atomically replaces the vault. The caller
// holds v.mu and the file lock. On error the file is as it was.
func (v *Vault) writeLocked(doc *Document, passphrase string, workFactor int) error {
	file, fileKey, err := encrypt(doc, passphrase, workFactor, v.kdf)
	if err != nil {
		return err
	}
	if err := writeAtomic(v.path, file, false); err != nil {
		return err
	}
	return v.adopt(doc, file, fileKey, workFactor)
}

// adopt records a file this Vault just wrote as its current state.
func (v *Vault) adopt(doc *Document, file, fileKey []byte, workFactor int) error {
	info, err := readHeader(bytes.NewReader(file))
	if err != nil {
		return fmt.Errorf("read back header: %w", err)
	}
	fi, err := os.Stat(v.path)
	if err != nil {
		return fmt.Errorf("stat vault after write: %w", err)
	}
	v.doc, v.header, v.fileKey, v.ident, v.workFactor = doc, info.Header, fileKey, identityOf(fi), workFactor
	return nil
}

// Create makes a new vault at path holding doc (an empty document if nil).
// It creates the directory (0700) if needed, takes the directory's lock,
// and publishes with link(2), so it never replaces an existing vault: if one
// exists it returns an error wrapping ErrExists and leaves it untouched.
func Create(ctx context.Context, path, passphrase string, doc *Document, opts ...Option) (*Vault, error) {
	if passphrase == "" {
		return nil, ErrEmptyPassphrase
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
	v := &Vault{path: path, lockPath: LockPath(path), passphrase: passphrase, kdf: o.kdf}
	lk, err := lockFile(ctx, v.lockPath)
	if err != nil {
		return nil, err
	}
	defer lk.unlock()
	removeStaleTemps(path)
	exists := pathErr(path, ErrExists, "use it, or move it away first")
	if _, err := os.Lstat(path); err == nil {
		return nil, exists
	}
	file, fileKey, err := encrypt(doc, passphrase, o.workFactor, o.kdf)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(path, file, true); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, exists
		}
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.adopt(doc.Clone(), file, fileKey, o.workFactor); err != nil {
		return nil, err
	}
	return v, nil
}

// Exists reports whether something is at path (whatever its state).
func Exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
