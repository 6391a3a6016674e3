package tokenserver

import (
	"context"
	"testing"
	"time"
)

func TestVerifiedTokens(t *testing.T) {
	tk, err := newTokens(SigningKey{Secret: []byte("0123456789abcdef0123456789abcdef")}, "anchore-engine")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	raw, err := tk.sign(User{UUID: "uuid-1", Generation: 3}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk.verify(context.Background(), raw, now); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if _, ok := tk.seen.get(raw, now); !ok {
		t.Fatal("a verified token is not remembered")
	}
	c, err := tk.verify(context.Background(), raw, now.Add(time.Minute))
	if err != nil || c.Subject != "uuid-1" || *c.Generation != 3 {
		t.Errorf("verify from the cache = %+v, %v", c, err)
	}
	// A token differing in one byte is verified afresh, and fails.
	tampered := raw[:len(raw)-2] + string(rune(raw[len(raw)-2]^1)) + raw[len(raw)-1:]
	if _, err := tk.verify(context.Background(), tampered, now); err == nil {
		t.Error("a tampered token verified")
	}
	// Expiry holds for remembered tokens too.
	if _, err := tk.verify(context.Background(), raw, now.Add(time.Hour)); err == nil {
		t.Error("an expired token verified from the cache")
	}
	if _, ok := tk.seen.get(raw, now); ok {
		t.Error("an expired token is still remembered")
	}
}
