package passhash

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := New(WithLogN(4))
	enc, err := h.Hash(ctx, "s3cret!")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$scrypt$ln=4,r=8,p=1$") {
		t.Errorf("Hash = %q, want the $scrypt$ln=4,r=8,p=1$ prefix", enc)
	}
	// A hasher with other defaults reads the parameters from the string.
	other := New()
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"s3cret!", true}, {"s3cret", false}, {"", false}} {
		got, err := other.Verify(ctx, enc, tc.pw)
		if err != nil || got != tc.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tc.pw, got, err, tc.want)
		}
	}
	enc2, _ := h.Hash(ctx, "s3cret!")
	if enc == enc2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", ErrMalformed},
		{"plaintext", ErrMalformed},
		{"$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", ErrMalformed},
		{"$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", ErrCost},
		{"$scrypt$ln=4,r=8$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", ErrMalformed},
		{"$scrypt$ln=4,r=8,p=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", ErrMalformed},
		{"$scrypt$ln=4,r=8,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA", ErrMalformed},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Parse(tc.in)
			if !errors.Is(err, tc.want) {
				t.Errorf("Parse(%q) = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
}

func TestCounting(t *testing.T) {
	ctx := context.Background()
	c := NewCounting(New(WithLogN(4)))
	enc, _ := c.Hash(ctx, "pw")
	c.Verify(ctx, enc, "pw")
	c.Verify(ctx, enc, "no")
	if c.Hashes() != 1 || c.Verifies() != 2 {
		t.Errorf("counts = %d hashes, %d verifies; want 1, 2", c.Hashes(), c.Verifies())
	}
}

func TestSemaphoreHonoursContext(t *testing.T) {
	h := New(WithLogN(4), WithConcurrency(1))
	h.sem <- struct{}{} // the only slot is taken
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash with a full semaphore and a cancelled context = %v, want context.Canceled", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Fuzz(func(t *testing.T, s string) { Parse(s) })
}
