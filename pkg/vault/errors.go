package vault

import (
	"errors"
	"fmt"
)

// Errors a caller branches on with errors.Is. Each is shown to a user as one
// line; the wrapping error adds the path and what to do.
var (
	// ErrWrongPassphrase: the scrypt stanza did not unwrap with the given
	// passphrase. A damaged scrypt stanza reads the same way: the stanza's
	// body is itself the authentication, so the two cannot be told apart.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrDamaged: the header MAC or a payload chunk failed to authenticate,
	// or the file is truncated: it was tampered with or cut short.
	ErrDamaged = errors.New("vault is damaged")
	// ErrNotVault: no age header, or an age file for other recipients.
	ErrNotVault = errors.New("not a vault")
	// ErrNewerVersion: the document inside was written by a newer version of
	// this software; it is never rewritten by this one.
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
