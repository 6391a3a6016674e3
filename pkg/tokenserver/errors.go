package tokenserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/anchored/anchored/pkg/apitype"
)

// apiError is an error with the status and message the client sees in
// Anchore's error JSON. Handlers return them; writeError is the one writer.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.code, e.msg) }

func errorf(code int, format string, args ...any) error {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// errUnauthorized is answered with Anchore's plain-text 401.
var errUnauthorized = errors.New("unauthorized")

// writeError answers err. Anything that is not an apiError is a server
// fault: logged with its cause, answered 500 with no detail (never a stack
// trace or an internal message).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var mbe *http.MaxBytesError
	var ra RetryAfter
	switch {
	case errors.As(err, &ra):
		w.Header().Set("Retry-After", strconv.Itoa(int((ra.RetryAfter()+time.Second-1)/time.Second)))
		ae = &apiError{code: http.StatusTooManyRequests, msg: "Too many failed login attempts, retry later"}
	case errors.Is(err, errUnauthorized):
		writeUnauthorized(w)
		return
	case errors.Is(err, ErrUnavailable):
		s.log.WarnContext(r.Context(), "store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "1")
		ae = &apiError{code: http.StatusServiceUnavailable, msg: "Service unavailable, retry later"}
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = &apiError{code: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("Request body too large (limit %d bytes)", mbe.Limit)}
	default:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{code: http.StatusInternalServerError, msg: "Internal server error"}
	}
	writeJSON(w, ae.code, apitype.NewError(ae.code, ae.msg))
}

// writeUnauthorized is Anchore's 401: plain text, fixed realm.
func writeUnauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `basic realm="Authentication required"`)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte("Unauthorized"))
}

// writeJSON writes v indented, as Anchore's Flask pretty-prints.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		slog.Error("encode response", "err", err)
		code, b = http.StatusInternalServerError, []byte(`{"detail":{"error_codes":[]},"httpcode":500,"message":"Internal server error"}`)
	}
	b = append(b, '\n')
	// Always a Content-Length: the helper's socket client reads a body by
	// it (or by the close), never chunks.
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}

// decodeJSON reads a JSON body into v; malformed input is a 400 in
// Anchore's shape, an oversized body a 413.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errorf(http.StatusBadRequest, "Invalid JSON request body: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "Invalid JSON request body: trailing data")
	}
	return nil
}
