package credprovider

import (
	"errors"
	"testing"
	"time"

	v1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"

	"github.com/anchored/anchored/pkg/helper"
)

func TestImageKeyAndAuthKey(t *testing.T) {
	for _, c := range []struct {
		image, entry string
		wantKey      string // ImageKey
		authKey      string
		kind         v1.PluginCacheKeyType
	}{
		{"reg.example.com:5000/team/app:1.0", "reg.example.com:5000", "reg.example.com:5000/team/app", "reg.example.com:5000", v1.RegistryPluginCacheKeyType},
		{"nginx", "docker.io", "docker.io/library/nginx", "docker.io", v1.RegistryPluginCacheKeyType},
		{"bitnami/redis@sha256:abc", "docker.io", "docker.io/bitnami/redis", "docker.io", v1.RegistryPluginCacheKeyType},
		{"localhost/app:dev", "localhost", "localhost/app", "localhost", v1.RegistryPluginCacheKeyType},
		{"wild.example.com/team/tools/lint:2", "wild.example.com/team/*", "wild.example.com/team/tools/lint", "wild.example.com/team/", v1.ImagePluginCacheKeyType},
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", "123456789012.dkr.ecr.eu-west-1.amazonaws.com*", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", "123456789012.dkr.ecr.eu-west-1.amazonaws.com", v1.RegistryPluginCacheKeyType},
		{"anything.example.org:8443/x", "*", "anything.example.org:8443/x", "anything.example.org:8443", v1.RegistryPluginCacheKeyType},
		{"reg.example.com/team/app:3", "reg.example.com/team/app", "reg.example.com/team/app", "reg.example.com/team/app", v1.ImagePluginCacheKeyType},
	} {
		got, err := ImageKey(c.image)
		if err != nil || got != c.wantKey {
			t.Errorf("ImageKey(%q) = %q, %v; want %q", c.image, got, err, c.wantKey)
			continue
		}
		k, err := helper.Normalize(got)
		if err != nil {
			t.Fatal(err)
		}
		if key, kind := AuthKey(c.entry, k); key != c.authKey || kind != c.kind {
			t.Errorf("AuthKey(%q, %q) = %q, %q; want %q, %q", c.entry, got, key, kind, c.authKey, c.kind)
		}
	}
	for _, bad := range []string{"", "https://reg/app", "reg.example.com/", "a b/c", "/app"} {
		if got, err := ImageKey(bad); !errors.Is(err, ErrBadImage) {
			t.Errorf("ImageKey(%q) = %q, %v; want ErrBadImage", bad, got, err)
		}
	}
}

func TestECRTokenExpiry(t *testing.T) {
	// {"payload":"p","expiration":1700000000}
	const tok = "eyJwYXlsb2FkIjoicCIsImV4cGlyYXRpb24iOjE3MDAwMDAwMDB9"
	if exp, ok := ECRTokenExpiry("AWS", tok); !ok || !exp.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("ECR token: %v %v", exp, ok)
	}
	for _, c := range [][2]string{{"alice", tok}, {"AWS", "s3cret"}, {"AWS", "eyJleHBpcmF0aW9uIjoxfQ=="}} {
		if _, ok := ECRTokenExpiry(c[0], c[1]); ok {
			t.Errorf("ECRTokenExpiry(%q, %q) found an expiry", c[0], c[1])
		}
	}
}
