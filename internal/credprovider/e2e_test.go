package credprovider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	v1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"

	"github.com/anchored/anchored/internal/awsfake"
	"github.com/anchored/anchored/internal/testbin"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/vault"
)

const (
	passphrase = "provider passphrase"
	ecrHost    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
)

// providerWorld is a vault with a stored host, a wildcard, an ECR entry,
// and the config of an anchored that serves it.
type providerWorld struct {
	t                                  *testing.T
	dir, vault, passFile, socket, conf string
	http                               string
	fake                               *awsfake.Fake
}

func newProviderWorld(t *testing.T) *providerWorld {
	t.Helper()
	dir := t.TempDir()
	w := &providerWorld{t: t, dir: dir, vault: filepath.Join(dir, "state", "vault"), passFile: filepath.Join(dir, "passphrase"),
		socket: filepath.Join(dir, "run", "anchored.sock"), conf: filepath.Join(dir, "config.yaml"), fake: awsfake.Start(t)}
	if err := os.WriteFile(w.passFile, []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := vault.NewDocument()
	regs := doc.AccountRegistries("admin")
	for _, r := range []*vault.Registry{
		{Registry: "reg.example.com:5000", Type: "docker_v2", User: "alice", Pass: "s3cret-host"},
		{Registry: "wild.example.com/team/*", Type: "docker_v2", User: "bob", Pass: "s3cret-wild"},
		{Registry: ecrHost, Type: "awsecr", User: "AKIAPROVIDERTEST", Pass: "aws-secret-provider"},
	} {
		r.Name, r.Verify = r.Registry, true
		regs[r.Registry] = r
	}
	if _, err := vault.Create(context.Background(), w.vault, passphrase, doc, vault.WithWorkFactor(vault.MinWorkFactor)); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.http = ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf("vault: %s\nlisten:\n  socket: %s\n  http: %s\nhelper_account: admin\ndefault_admin_password: provider-admin\n", w.vault, w.socket, w.http)
	if err := os.WriteFile(w.conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// env is the provider's environment as the kubelet would give it: the
// socket, the vault, no passphrase unless direct.
func (w *providerWorld) env(direct bool) []string {
	base := []string{"PATH=" + testbin.Dir(w.t) + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + w.dir, "XDG_RUNTIME_DIR=" + w.dir,
		"XDG_CONFIG_HOME=" + filepath.Join(w.dir, "cfg"), "ANCHORE_CONFIG=" + filepath.Join(w.dir, "none.yaml"),
		"ANCHORED_SOCKET=" + w.socket, "ANCHORE_VAULT=" + w.vault}
	if direct {
		base = append(base, "ANCHORE_VAULT_PASSPHRASE_FILE="+w.passFile)
	}
	return w.fake.Environ(base)
}

// startDaemon runs anchored until the test ends and waits until it answers.
func (w *providerWorld) startDaemon() {
	w.t.Helper()
	var stderr bytes.Buffer
	c := exec.Command(testbin.Path(w.t, "anchored"), "--config", w.conf, "--passphrase-file", w.passFile)
	c.Env = w.fake.Environ([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + w.dir, "XDG_RUNTIME_DIR=" + w.dir})
	c.Stderr = &stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { c.Process.Signal(syscall.SIGTERM); c.Wait() })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get("http://" + w.http + "/health"); err == nil {
			res.Body.Close()
			if _, err := os.Stat(w.socket); err == nil {
				return
			}
		}
	}
	w.t.Fatalf("anchored did not start: %s", stderr.String())
}

type answer struct {
	resp           v1.CredentialProviderResponse
	raw, stderr    string
	code           int
	requestedImage string
}

// ask runs the built provider as the kubelet does: the request encoded
// from the kubelet's own type on stdin, the response decoded into it.
func (w *providerWorld) ask(env []string, image string, args ...string) answer {
	w.t.Helper()
	req, err := json.Marshal(v1.CredentialProviderRequest{
		TypeMeta: metav1.TypeMeta{APIVersion: v1.SchemeGroupVersion.String(), Kind: "CredentialProviderRequest"},
		Image:    image,
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return w.askRaw(env, string(req), args...)
}

func (w *providerWorld) askRaw(env []string, stdin string, args ...string) answer {
	w.t.Helper()
	c := exec.Command(testbin.Path(w.t, "anchore-credential-provider"), args...)
	c.Env = env
	c.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	a := answer{requestedImage: stdin}
	var ee *exec.ExitError
	if err := c.Run(); errors.As(err, &ee) {
		a.code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	a.raw, a.stderr = out.String(), errb.String()
	if a.code == 0 {
		if err := json.Unmarshal(out.Bytes(), &a.resp); err != nil {
			w.t.Fatalf("response %q: %v", a.raw, err)
		}
		if a.resp.APIVersion != "credentialprovider.kubelet.k8s.io/v1" || a.resp.Kind != "CredentialProviderResponse" {
			w.t.Errorf("response type %q %q", a.resp.APIVersion, a.resp.Kind)
		}
	}
	return a
}

// checkAnswers asks for the four kinds of image and checks each answer.
func (w *providerWorld) checkAnswers(t *testing.T, env []string) {
	one := func(a answer, key string, kind v1.PluginCacheKeyType, user, pass string, minD, maxD time.Duration) {
		t.Helper()
		if a.code != 0 {
			t.Fatalf("exit %d, stderr %q", a.code, a.stderr)
		}
		got, ok := a.resp.Auth[key]
		if len(a.resp.Auth) != 1 || !ok || got.Username != user || got.Password != pass {
			t.Errorf("auth = %v, want only %q: %s/%s", a.resp.Auth, key, user, pass)
		}
		if a.resp.CacheKeyType != kind {
			t.Errorf("cacheKeyType = %q, want %q", a.resp.CacheKeyType, kind)
		}
		if d := a.resp.CacheDuration; d == nil || d.Duration < minD || d.Duration > maxD {
			t.Errorf("cacheDuration = %v, want within [%v, %v]", d, minD, maxD)
		}
	}
	const static = 10 * time.Minute
	t.Run("stored host", func(t *testing.T) {
		one(w.ask(env, "reg.example.com:5000/team/app:1.0"), "reg.example.com:5000", v1.RegistryPluginCacheKeyType, "alice", "s3cret-host", static, static)
		// The static duration is the operator's to choose.
		one(w.ask(env, "reg.example.com:5000/other@sha256:"+strings.Repeat("a", 64), "--static-cache-duration=1h"), "reg.example.com:5000", v1.RegistryPluginCacheKeyType, "alice", "s3cret-host", time.Hour, time.Hour)
	})
	t.Run("wildcard", func(t *testing.T) {
		one(w.ask(env, "wild.example.com/team/tools/lint:2"), "wild.example.com/team/", v1.ImagePluginCacheKeyType, "bob", "s3cret-wild", static, static)
	})
	t.Run("ECR", func(t *testing.T) {
		a := w.ask(env, ecrHost+"/app:latest")
		calls := w.fake.ECRCalls()
		if len(calls) == 0 {
			t.Fatalf("no ECR call; answer %q %q", a.raw, a.stderr)
		}
		life := awsfake.DefaultTokenLifetime - ecr.RenewBefore
		one(a, ecrHost, v1.RegistryPluginCacheKeyType, "AWS", calls[len(calls)-1].Password, life-time.Minute, life)
	})
	t.Run("unknown registry", func(t *testing.T) {
		for _, image := range []string{"other.example.com/app:1", "wild.example.com/elsewhere/app", "nginx"} {
			a := w.ask(env, image)
			if a.code != 0 || a.resp.Auth != nil || strings.Contains(a.raw, `"auth"`) {
				t.Errorf("%s: exit %d, answer %q; want no auth at all", image, a.code, a.raw)
			}
			if a.resp.CacheKeyType != v1.RegistryPluginCacheKeyType || a.resp.CacheDuration == nil || a.resp.CacheDuration.Duration != 0 {
				t.Errorf("%s: cacheKeyType %q cacheDuration %v; want Registry and 0 (not cached)", image, a.resp.CacheKeyType, a.resp.CacheDuration)
			}
		}
	})
}

// The built provider answers the kubelet's requests directly from the
// vault (no daemon) and through anchored (no passphrase), the same way.
func TestProviderEndToEnd(t *testing.T) {
	w := newProviderWorld(t)
	t.Run("direct", func(t *testing.T) { w.checkAnswers(t, w.env(true)) })

	// Neither daemon nor passphrase: "no credentials", the cause on stderr.
	locked := w.ask(w.env(false), "reg.example.com:5000/team/app")
	if locked.code != 0 || locked.resp.Auth != nil || !strings.Contains(locked.stderr, "passphrase") {
		t.Errorf("locked: exit %d, answer %q, stderr %q; want no credentials and the cause", locked.code, locked.raw, locked.stderr)
	}

	w.startDaemon()
	t.Run("through anchored", func(t *testing.T) { w.checkAnswers(t, w.env(false)) })

	// What is not a v1 request fails on one line, nothing on stdout.
	for _, bad := range []string{"", "{", `{"apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","kind":"CredentialProviderRequest","image":"a/b"}`,
		`{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"https://a/b"}`} {
		a := w.askRaw(w.env(false), bad)
		if a.code != 1 || a.raw != "" || strings.Count(a.stderr, "\n") != 1 || !strings.HasPrefix(a.stderr, "Error: ") {
			t.Errorf("request %q: exit %d stdout %q stderr %q; want exit 1 and one line", bad, a.code, a.raw, a.stderr)
		}
	}
	if a := w.askRaw(w.env(false), "", "extra"); a.code != 2 {
		t.Errorf("an argument: exit %d, want 2", a.code)
	}
}

// The provider holds the vault's secrets as the helper does, so it turns
// core dumps off as the helper does (internal/nodump): caught while it
// waits on a socket that accepts and never answers.
func TestProviderNoCoreDumps(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "silent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := exec.Command(testbin.Path(t, "anchore-credential-provider"))
	c.Env = []string{"HOME=" + dir, "XDG_RUNTIME_DIR=" + dir, "ANCHORE_CONFIG=" + filepath.Join(dir, "none.yaml"), "ANCHORED_SOCKET=" + sock}
	c.Stdin = strings.NewReader(`{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"reg.example.com/app"}`)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	conn.Read(make([]byte, 1)) // the request has started: the provider is past its start
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", c.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^Max core file size\s+(\S+)\s+(\S+)`).FindStringSubmatch(string(b))
	if m == nil || m[1] != "0" || m[2] != "0" {
		t.Errorf("the provider's core limit = %q, want 0 0", m)
	}
}
