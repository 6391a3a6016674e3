// Package passphrase finds the vault passphrase for both binaries, in the
// order SPEC section 2 fixes: --passphrase-file, ANCHORE_VAULT_PASSPHRASE_FILE,
// ANCHORE_VAULT_PASSPHRASE, $CREDENTIALS_DIRECTORY/vault-passphrase, then
// (management commands only, and only when stdin is a terminal) a prompt on
// /dev/tty. It never reads stdin: for the protocol actions stdin is Docker's
// payload.
//
// A config file's passphrase_file reaches Find as Source.File, resolved by
// internal/config after the environment (see config.ResolvePaths).
package passphrase

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/term"
)

// ErrNone means no source gave a passphrase. Its text is the one users see.
var ErrNone = errors.New("vault is locked: no passphrase (start anchored, or set ANCHORE_VAULT_PASSPHRASE_FILE)")

// ErrEmpty means a source gave an empty passphrase, which age refuses.
var ErrEmpty = errors.New("empty passphrase")

// ErrPermissions means a passphrase file can be read or written by its
// group or others: refused as the vault is (pkg/vault's ErrPermissions),
// since the file unlocks it.
var ErrPermissions = errors.New("passphrase file permissions too open")

// MaxFileSize caps a passphrase file: a passphrase is a line, and a path
// pointed at a device or a log by mistake must not be read whole.
const MaxFileSize = 64 << 10

// Environment variable names.
const (
	EnvFile       = "ANCHORE_VAULT_PASSPHRASE_FILE"
	EnvPassphrase = "ANCHORE_VAULT_PASSPHRASE"
	EnvCredsDir   = "CREDENTIALS_DIRECTORY"
	// CredentialName is the systemd credential (LoadCredential=) holding it.
	CredentialName = "vault-passphrase"
)

// Source describes where to look. The zero value looks at nothing.
type Source struct {
	// File is the passphrase file as config.ResolvePaths resolves it: the
	// --passphrase-file flag, else ANCHORE_VAULT_PASSPHRASE_FILE, else the
	// config file's passphrase_file when ANCHORE_VAULT_PASSPHRASE is unset.
	File string
	// Getenv reads the environment; os.Getenv in production.
	Getenv func(string) string
	// Prompt, when non-nil, is asked last. Use TTYPrompt for management
	// commands; leave nil for the protocol actions and the daemon.
	Prompt func(label string) (string, error)
	// Label is what a prompt shows.
	Label string
}

// Where reports the source that was used, for messages (never the value).
type Where string

// Find returns the passphrase from the first source that is set.
func Find(s Source) (string, Where, error) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if s.File != "" {
		p, err := ReadFile(s.File)
		return p, Where("passphrase file " + s.File), err
	}
	if f := getenv(EnvFile); f != "" {
		p, err := ReadFile(f)
		return p, Where(EnvFile), err
	}
	if p := getenv(EnvPassphrase); p != "" {
		return p, Where(EnvPassphrase), nil
	}
	if d := getenv(EnvCredsDir); d != "" {
		f := filepath.Join(d, CredentialName)
		if _, err := os.Stat(f); err == nil {
			// systemd grants the service user read access to a credential
			// with an ACL, whose mask shows as the group bits (0440): its
			// directory is private to the service, so the mode is not
			// checked here.
			p, err := readFile(f, false)
			return p, Where("systemd credential " + CredentialName), err
		}
	}
	if s.Prompt != nil {
		label := s.Label
		if label == "" {
			label = "Vault passphrase: "
		}
		p, err := s.Prompt(label)
		if err != nil {
			return "", "", err
		}
		if p == "" {
			return "", "", ErrEmpty
		}
		return p, Where("terminal"), nil
	}
	return "", "", ErrNone
}

// ReadFile reads a passphrase file and drops exactly one trailing "\n" or
// "\r\n", nothing else, so that the same passphrase typed into "age -d"
// works. A file with any group or other permission bit is refused, with
// the vault's hint. Errors name the file, never its contents.
func ReadFile(path string) (string, error) { return readFile(path, true) }

func readFile(path string, checkMode bool) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("passphrase file %q does not exist", path)
		}
		return "", fmt.Errorf("read passphrase file: %w", err)
	}
	defer f.Close()
	if checkMode {
		if err := CheckMode(f, path); err != nil {
			return "", err
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return "", fmt.Errorf("read passphrase file %q: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return "", fmt.Errorf("passphrase file %q is larger than %d KiB: is it the right file?", path, MaxFileSize>>10)
	}
	b = TrimOneNewline(b)
	if len(b) == 0 {
		return "", fmt.Errorf("passphrase file %q: %w", path, ErrEmpty)
	}
	return string(b), nil
}

// CheckMode refuses a secret file (passphrase, private key, HMAC secret)
// that its group or others may read or write, as pkg/vault refuses the
// vault, with the same hint. Regular files only: a pipe or a process
// substitution (/dev/fd/N) has no mode worth checking.
func CheckMode(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if perm := fi.Mode().Perm(); fi.Mode().IsRegular() && perm&0o077 != 0 {
		return fmt.Errorf("%s: %w: file mode %04o (chmod 600 %s)", path, ErrPermissions, perm, path)
	}
	return nil
}

// TrimOneNewline drops one trailing "\r\n" or "\n".
func TrimOneNewline(b []byte) []byte {
	if bytes.HasSuffix(b, []byte("\r\n")) {
		return b[:len(b)-2]
	}
	return bytes.TrimSuffix(b, []byte("\n"))
}

// TTYPrompt asks on /dev/tty with echo off. It offers the prompt only when
// stdin is a terminal too (SPEC section 2), and fails with ErrNone when
// there is no terminal, so a script never hangs on a prompt it cannot see.
func TTYPrompt(label string) (string, error) {
	if !StdinIsTerminal() {
		return "", ErrNone
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", ErrNone
	}
	defer tty.Close()
	if !term.IsTerminal(int(tty.Fd())) {
		return "", ErrNone
	}
	fmt.Fprint(tty, label)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("read passphrase from terminal: %w", err)
	}
	return string(b), nil
}

// StdinIsTerminal reports whether stdin is a terminal; the prompt is offered
// only then, as SPEC says.
func StdinIsTerminal() bool { return term.IsTerminal(int(os.Stdin.Fd())) }
