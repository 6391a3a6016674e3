package regtest

import (
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// The harness itself: pushes work with the right credentials, pulls need
// them, and the Bearer variant goes through its token endpoint.
func TestRegistries(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *Registry
	}{
		{"basic", Start},
		{"bearer", StartBearer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.start(t)
			ref := r.PushRandomImage(t, "test/app")
			if _, err := remote.Image(ref, remote.WithTransport(r.Transport), remote.WithAuth(&authn.Basic{Username: r.User, Password: r.Pass})); err != nil {
				t.Fatalf("pull with credentials: %v", err)
			}
			_, err := remote.Image(ref, remote.WithTransport(r.Transport), remote.WithAuth(&authn.Basic{Username: r.User, Password: "wrong"}))
			var terr *transport.Error
			if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
				t.Fatalf("pull with a wrong password: got %v, want a 401 transport error", err)
			}
			if tc.name == "bearer" && r.TokenRequests() == 0 {
				t.Errorf("bearer registry issued no token")
			}
		})
	}
}
