package validate

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/anchored/anchored/internal/regtest"
	"github.com/anchored/anchored/pkg/registries"
)

func TestValidatorAgainstRegistries(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *regtest.Registry
	}{
		{"basic", regtest.Start},
		{"bearer", regtest.StartBearer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := tc.start(t)
			v := Validator{Transport: reg.Transport}
			if err := v.Check(ctx, registries.Entry{Registry: reg.Host, User: reg.User, Pass: reg.Pass, Verify: true}); err != nil {
				t.Errorf("good credentials: %v", err)
			}
			err := v.Check(ctx, registries.Entry{Registry: reg.Host, User: reg.User, Pass: "wrong", Verify: true})
			want := "cannot validate registry credentials: cannot login to registry user=regtest registry=" + reg.URL + " - invalid username/password"
			if !errors.Is(err, ErrFailed) || err.Error() != want {
				t.Errorf("bad credentials: got %v, want %q", err, want)
			}
			// A repository entry is checked against its host.
			if err := v.Check(ctx, registries.Entry{Registry: reg.Host + "/team/app", User: reg.User, Pass: reg.Pass, Verify: true}); err != nil {
				t.Errorf("repository entry: %v", err)
			}
		})
	}
}

// --insecure: a registry whose CA is not trusted fails verification unless
// Verify is off.
func TestValidatorInsecure(t *testing.T) {
	reg := regtest.Start(t)
	v := Validator{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	e := registries.Entry{Registry: reg.Host, User: reg.User, Pass: reg.Pass, Verify: true}
	if err := v.Check(context.Background(), e); !errors.Is(err, ErrFailed) {
		t.Errorf("untrusted CA with verification: got %v, want ErrFailed", err)
	}
	e.Verify = false
	if err := v.Check(context.Background(), e); err != nil {
		t.Errorf("untrusted CA with --insecure: %v", err)
	}
}

func TestParseChallenge(t *testing.T) {
	scheme, p := parseChallenge(`Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"`)
	if scheme != "bearer" || p["realm"] != "https://auth.example.com/token" || p["service"] != "registry.example.com" || p["scope"] != "repository:a/b:pull,push" {
		t.Errorf("got %q %v", scheme, p)
	}
	scheme, p = parseChallenge(`Basic realm="Registry Realm"`)
	if scheme != "basic" || p["realm"] != "Registry Realm" {
		t.Errorf("got %q %v", scheme, p)
	}
}

// A registry that cannot be reached: one line that says how to add the
// entry anyway.
func TestValidatorUnreachableSuggestsSkip(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := ln.Addr().String()
	ln.Close() // nothing listens there now
	err = Validator{}.Check(context.Background(), registries.Entry{Registry: host, User: "u", Pass: "p", Verify: true})
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "cannot ping https://"+host+"/v2/") ||
		!strings.HasSuffix(err.Error(), "(to add it without this check: registry add --skip-validate, or validate=false in the API)") ||
		strings.ContainsAny(err.Error(), "\r\n") {
		t.Errorf("unreachable registry: %v", err)
	}
}
