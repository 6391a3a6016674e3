package vault

import (
	"errors"
	"fmt"
)

// Errors a caller branches on with errors.Is. Each is shown to a user as one
// line; the wrapping error adds the path and what to do.
var (
	// ErrWrongPassphrase: the scrypt stanza did not unwrap with the given
	// passphrase. A damaged scrypt stanza (its salt, work factor or wrapped
	// key changed) reads the same way: the wrapped key is authenticated only
	// by the key scrypt derives from all three, so the two cannot be told
	// apart. docs/vault-format.md says so to users.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrDamaged: the header MAC or a payload chunk failed to authenticate,
	// the file is cut short (or empty), the header's syntax is broken, or
	// the decrypted document does not parse or breaks the format's rules.
	ErrDamaged = errors.New("vault is damaged")
	// ErrNotVault: not an age file, an age file for other recipients, or a
	// passphrase age file whose JSON has no version.
	ErrNotVault = errors.New("not a vault")
	// ErrNewerVersion: the document inside was written by a newer version of
	// this software; this one neither opens nor rewrites it.
	ErrNewerVersion = errors.New("vault was written by a newer version")
	// ErrMissing: there is no vault file at the path.
	ErrMissing = errors.New("vault missing")
	// ErrPermissions: the vault file or its directory has a group or other
	// permission bit set.
	ErrPermissions = errors.New("vault permissions too open")
	// ErrExists: a vault already exists where one was to be created.
	ErrExists = errors.New("vault already exists")
	// ErrWorkFactor: the file asks for an scrypt work factor outside the
	// accepted bounds; refused before any scrypt runs.
	ErrWorkFactor = errors.New("scrypt work factor out of bounds")
	// ErrEmptyPassphrase: an empty passphrase was given; age refuses them.
	ErrEmptyPassphrase = errors.New("empty passphrase")
)

// PathError ties one of the sentinels above to the file it is about and a
// hint of what to do. Its message is one line.
type PathError struct {
	Path string
	Err  error  // one of the sentinels, possibly wrapping a cause
	Hint string // what the user can do, may be empty
}

func (e *PathError) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Path, e.Err)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

func (e *PathError) Unwrap() error { return e.Err }

func pathErr(path string, err error, hint string) error {
	return &PathError{Path: path, Err: err, Hint: hint}
}
