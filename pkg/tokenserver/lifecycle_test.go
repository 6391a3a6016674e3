package tokenserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/apitype"
)

// TestDeletingHelperAccount: while the helper account is "deleting", the
// helper endpoints serve nothing of it; the teardown removes its entries,
// and a server started over a vault with a "deleting" account finishes it.
func TestDeletingHelperAccount(t *testing.T) {
	e := newEnv(t, Config{DeletionDelay: time.Hour, Registries: RegistryOptions{HelperAccount: "team1"}})
	if r := e.do("POST", "/v1/accounts", "admin:foobar", `{"name":"team1"}`); r.code != 200 {
		t.Fatal(r.code, r.body)
	}
	socket := serveSocket(t, e.srv)
	c := &http.Client{Transport: leaks.Transport(&http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}})}
	helper := func(op, body string) (int, string) {
		res, err := c.Post("http://x/v1/credential-helper/"+op, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := helper("store", `{"ServerURL":"reg.example","Username":"u","Secret":"team1-helper-secret"}`); code != 200 {
		t.Fatal(code, body)
	}
	if code, _ := helper("get", "reg.example"); code != 200 {
		t.Fatalf("get before delete: %d", code)
	}
	e.do("PUT", "/v1/accounts/team1/state", "admin:foobar", `{"state":"disabled"}`)
	if r := e.do("DELETE", "/v1/accounts/team1", "admin:foobar", ""); r.code != 200 {
		t.Fatal(r.code, r.body)
	}
	if code, body := helper("get", "reg.example"); code != 404 || !strings.Contains(body, "credentials not found") {
		t.Errorf("get while deleting: %d %q, want the protocol's not found", code, body)
	}
	if code, _ := helper("store", `{"ServerURL":"other.example","Username":"u","Secret":"another-secret-9"}`); code != 404 {
		t.Errorf("store while deleting: %d, want 404", code)
	}

	// A restart (a new server over the same vault) finishes the deletion.
	srv2, err := New(context.Background(), Config{DeletionDelay: time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		Hasher: e.hasher}, NewVaultStore(e.vault))
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := srv2.Store().GetAccount(context.Background(), "team1")
		if errors.Is(err, ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("team1 still there after the restart's teardown: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if regs, err := srv2.Store().ListRegistries(context.Background(), "team1"); err != nil || len(regs) != 0 {
		t.Errorf("team1's registries after teardown: %v %v", regs, err)
	}
	if a, err := srv2.Store().GetAccount(context.Background(), "admin"); err != nil || a.State != apitype.AccountEnabled {
		t.Errorf("admin after teardown: %+v %v", a, err)
	}
}
