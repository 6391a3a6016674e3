package registries

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/helper/ecr/awsecr"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestGuessType(t *testing.T) {
	for _, tc := range []struct {
		reg     string
		want    string
		guessed bool
	}{
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com", TypeAWSECR, true},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/repo", TypeAWSECR, true},
		{"public.ecr.aws", TypeDockerV2, false},
		{"registry.example.com", TypeDockerV2, false},
	} {
		got, guessed, err := GuessType(context.Background(), awsecr.Client{}, tc.reg)
		if err != nil || got != tc.want || guessed != tc.guessed {
			t.Errorf("GuessType(%q) = %q, %v, %v; want %q, %v", tc.reg, got, guessed, err, tc.want, tc.guessed)
		}
	}
	// A parser that cannot answer is an error, never a silent docker_v2.
	if typ, _, err := GuessType(context.Background(), &fakeAWS{err: errNoAnchored}, "123456789012.dkr.ecr.us-east-1.amazonaws.com"); !errors.Is(err, errNoAnchored) || typ != "" {
		t.Errorf("GuessType with a failing parser = %q, %v; want an error", typ, err)
	}
}
