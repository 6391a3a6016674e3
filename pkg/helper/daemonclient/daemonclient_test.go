package daemonclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/anchored/anchored/internal/apitype"
	"github.com/anchored/anchored/pkg/helper"
)

// fakeDaemon serves the helper endpoints from a map on a Unix socket.
func fakeDaemon(t *testing.T) (socket string, requests *[]string) {
	t.Helper()
	socket = filepath.Join(t.TempDir(), "d.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	store := map[string]apitype.HelperCredentials{}
	var reqs []string
	mux := http.NewServeMux()
	writeErr := func(w http.ResponseWriter, code int, msg string) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(apitype.NewError(code, msg))
	}
	mux.HandleFunc("POST "+apitype.HelperGetPath, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		reqs = append(reqs, "get "+string(b))
		if string(b) == "broken.example" {
			writeErr(w, http.StatusBadGateway, "ecr: token fetch failed")
			return
		}
		c, ok := store[string(b)]
		if !ok {
			writeErr(w, http.StatusNotFound, "credentials not found in native keychain")
			return
		}
		json.NewEncoder(w).Encode(c)
	})
	mux.HandleFunc("POST "+apitype.HelperStorePath, func(w http.ResponseWriter, r *http.Request) {
		var c apitype.HelperCredentials
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			writeErr(w, http.StatusBadRequest, err.Error())
			return
		}
		reqs = append(reqs, "store "+c.ServerURL)
		store[c.ServerURL] = c
	})
	mux.HandleFunc("POST "+apitype.HelperErasePath, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		reqs = append(reqs, "erase "+string(b))
		delete(store, string(b))
	})
	mux.HandleFunc("POST "+apitype.HelperListPath, func(w http.ResponseWriter, r *http.Request) {
		reqs = append(reqs, "list")
		m := map[string]string{}
		for k, v := range store {
			m[k] = v.Username
		}
		json.NewEncoder(w).Encode(m)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return socket, &reqs
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	socket, reqs := fakeDaemon(t)
	c := &Client{Socket: socket}
	want := helper.Credentials{ServerURL: "reg.example", Username: "u", Secret: "s"}
	if err := c.Store(ctx, want); err != nil {
		t.Fatalf("Store: %v", err)
	}
	got, err := c.Get(ctx, "reg.example")
	if err != nil || got != want {
		t.Errorf("Get = %+v, %v; want %+v", got, err, want)
	}
	m, err := c.List(ctx)
	if err != nil || !reflect.DeepEqual(m, map[string]string{"reg.example": "u"}) {
		t.Errorf("List = %v, %v", m, err)
	}
	if err := c.Erase(ctx, "reg.example"); err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if _, err := c.Get(ctx, "reg.example"); !errors.Is(err, helper.ErrNotFound) {
		t.Errorf("Get after Erase: err = %v, want helper.ErrNotFound", err)
	}
	wantReqs := []string{"store reg.example", "get reg.example", "list", "erase reg.example", "get reg.example"}
	if !reflect.DeepEqual(*reqs, wantReqs) {
		t.Errorf("requests = %q, want %q", *reqs, wantReqs)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	socket, _ := fakeDaemon(t)
	c := &Client{Socket: socket}

	_, err := c.Get(ctx, "broken.example")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusBadGateway {
		t.Fatalf("Get(broken) err = %#v, want a *StatusError 502", err)
	}
	if got, want := err.Error(), "ecr: token fetch failed"; got != want {
		t.Errorf("error text = %q, want the daemon's message %q", got, want)
	}
	if errors.Is(err, helper.ErrNotFound) || errors.Is(err, ErrNotRunning) {
		t.Errorf("a 502 matches ErrNotFound or ErrNotRunning: %v", err)
	}

	none := &Client{Socket: filepath.Join(t.TempDir(), "absent.sock")}
	_, err = none.Get(ctx, "reg.example")
	if !errors.Is(err, ErrNotRunning) {
		t.Errorf("Get without a daemon: err = %v, want ErrNotRunning", err)
	}
	if errors.Is(err, helper.ErrNotFound) {
		t.Errorf("a missing daemon reads as not found: %v", err)
	}
}

func TestZeroValueUsesEnvironment(t *testing.T) {
	socket, reqs := fakeDaemon(t)
	t.Setenv("ANCHORED_SOCKET", socket)
	var c Client
	if _, err := c.List(context.Background()); err != nil {
		t.Fatalf("zero Client List: %v", err)
	}
	if len(*reqs) != 1 {
		t.Errorf("daemon saw %d requests, want 1", len(*reqs))
	}
}

// countingBackend records which calls reached the direct backend.
type countingBackend struct{ calls []string }

func (b *countingBackend) Get(_ context.Context, u string) (helper.Credentials, error) {
	b.calls = append(b.calls, "get")
	return helper.Credentials{ServerURL: u, Username: "direct", Secret: "s"}, nil
}
func (b *countingBackend) Store(context.Context, helper.Credentials) error {
	b.calls = append(b.calls, "store")
	return nil
}
func (b *countingBackend) Erase(context.Context, string) error {
	b.calls = append(b.calls, "erase")
	return nil
}
func (b *countingBackend) List(context.Context) (map[string]string, error) {
	b.calls = append(b.calls, "list")
	return map[string]string{}, nil
}

func TestFallback(t *testing.T) {
	ctx := context.Background()
	t.Run("daemon down", func(t *testing.T) {
		direct := &countingBackend{}
		f := &Fallback{Daemon: &Client{Socket: filepath.Join(t.TempDir(), "none.sock")}, Direct: direct}
		c, err := f.Get(ctx, "reg.example")
		if err != nil || c.Username != "direct" {
			t.Errorf("Get = %+v, %v; want the direct backend's answer", c, err)
		}
		f.Store(ctx, helper.Credentials{ServerURL: "reg.example"})
		f.Erase(ctx, "reg.example")
		f.List(ctx)
		if want := []string{"get", "store", "erase", "list"}; !reflect.DeepEqual(direct.calls, want) {
			t.Errorf("direct calls = %q, want %q", direct.calls, want)
		}
	})
	t.Run("daemon up, not found", func(t *testing.T) {
		socket, _ := fakeDaemon(t)
		direct := &countingBackend{}
		f := &Fallback{Daemon: &Client{Socket: socket}, Direct: direct}
		if _, err := f.Get(ctx, "absent.example"); !errors.Is(err, helper.ErrNotFound) {
			t.Errorf("Get = %v, want the daemon's not-found", err)
		}
		if len(direct.calls) != 0 {
			t.Errorf("direct backend called %q while the daemon answered", direct.calls)
		}
	})
}
