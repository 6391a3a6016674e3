package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/anchored/anchored/internal/testbin"
)

// keysCmd runs "anchored keys ARGS" on d's config and vault.
func (d *opsDaemon) keysCmd(t *testing.T, config, pass string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(testbin.Path(t, "anchored"), append([]string{"--config", config, "--vault", d.vault, "keys"}, args...)...)
	cmd.Env = []string{"ANCHORE_VAULT_PASSPHRASE=" + pass, "HOME=" + d.dir}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// token gets a bearer token from the daemon.
func (d *opsDaemon) token(t *testing.T) string {
	t.Helper()
	code, body := d.call(t, "POST", "/v1/oauth/token", "", "grant_type=password&client_id=anonymous&username=admin&password=foobar",
		"Content-Type", "application/x-www-form-urlencoded")
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &tr) != nil {
		t.Fatalf("token: %d %s", code, body)
	}
	return tr.AccessToken
}

func tokenKID(t *testing.T, tok string) string {
	t.Helper()
	b, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	var h struct {
		KID string `json:"kid"`
	}
	json.Unmarshal(b, &h)
	return h.KID
}

// TestKeysRotateCommand: "anchored keys rotate" on the vault of a running
// daemon. The daemon picks the new key up by itself (new tokens carry its
// kid), tokens from before still verify, JWKS publishes both keys. With a
// configured key, or the wrong passphrase, the command refuses and the
// vault is untouched.
func TestKeysRotateCommand(t *testing.T) {
	d := startOps(t, "user_authentication:\n  oauth:\n    enabled: true\nkeys:\n  algorithm: ES256\n")
	before := d.token(t)
	out, errOut, code := d.keysCmd(t, d.config, "test passphrase", "rotate")
	m := regexp.MustCompile(`New signing key (\S+) \(ES256\) signs from now on`).FindStringSubmatch(out)
	if code != 0 || m == nil || m[1] == tokenKID(t, before) {
		t.Fatalf("keys rotate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	waitUntil(t, "the daemon to sign with the new key", func() bool { return tokenKID(t, d.token(t)) == m[1] })
	code, body := d.call(t, "GET", "/v1/account", "", "", "Authorization", "Bearer "+before)
	want(t, "token from before the rotation", code, body, 200, `"name": "admin"`)
	code, body = d.call(t, "GET", "/v1/oauth/jwks", "", "")
	if code != 200 || !strings.Contains(body, m[1]) || !strings.Contains(body, tokenKID(t, before)) {
		t.Errorf("jwks after the rotation: %d %s", code, body)
	}
	out, _, _ = d.keysCmd(t, d.config, "test passphrase", "list")
	if !regexp.MustCompile(m[1]+`\s+ES256\s+signs`).MatchString(out) || !strings.Contains(out, tokenKID(t, before)) {
		t.Errorf("keys list:\n%s", out)
	}

	vaultBytes, err := os.ReadFile(d.vault)
	if err != nil {
		t.Fatal(err)
	}
	_, errOut, code = d.keysCmd(t, d.config, "wrong passphrase", "rotate")
	if code != 2 || !strings.Contains(errOut, "wrong passphrase") {
		t.Errorf("wrong passphrase: exit %d, stderr %q", code, errOut)
	}
	configured := filepath.Join(d.dir, "configured.yaml")
	writeFile(t, configured, "user_authentication:\n  oauth:\n    enabled: true\nkeys:\n  secret: 0123456789abcdef0123\n")
	_, errOut, code = d.keysCmd(t, configured, "test passphrase", "rotate")
	if code != 1 || !strings.HasPrefix(errOut, "anchored: cannot rotate: the signing key comes from the configuration") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("configured key: exit %d, stderr %q", code, errOut)
	}
	if after, _ := os.ReadFile(d.vault); !bytes.Equal(after, vaultBytes) {
		t.Error("a refused rotation changed the vault")
	}
}
