package helper

import "errors"

// ErrUnavailable means the credential store cannot be used at all (a locked,
// missing, damaged or too-open vault, a broken config). For "get" that is
// not a reason to break every pull: the protocol answers not-found and
// shows the cause on stderr. Test with errors.Is; the cause stays wrapped.
var ErrUnavailable = errors.New("credential store unavailable")

// Unavailable marks err as ErrUnavailable while keeping its text and its
// own sentinels (vault.ErrWrongPassphrase and the like) reachable.
func Unavailable(err error) error {
	if err == nil {
		return nil
	}
	return unavailableError{err}
}

type unavailableError struct{ err error }

func (e unavailableError) Error() string   { return e.err.Error() }
func (e unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.err} }
