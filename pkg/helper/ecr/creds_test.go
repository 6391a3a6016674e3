package ecr_test

import (
	"testing"

	"github.com/anchored/anchored/pkg/helper/ecr"
)

// UsesHostIdentity (the registry workflow's gate, asked before the
// credentials' shape is checked) gives Classify's answer for every shape,
// including credentials Classify refuses.
func TestUsesHostIdentityIsClassify(t *testing.T) {
	for _, tc := range []struct {
		c    ecr.Credentials
		want bool
	}{
		{ecr.Credentials{User: "awsauto", Pass: "awsauto"}, true},
		{ecr.Credentials{User: "awsauto", Pass: ""}, true},
		{ecr.Credentials{User: "AKIAEXAMPLE", Pass: "awsauto"}, true},
		{ecr.Credentials{User: "_iam_role", Pass: "arn:aws:iam::123456789012:role/pull"}, true},
		{ecr.Credentials{User: "_iam_role", Pass: "not-an-arn"}, true}, // Classify refuses it
		{ecr.Credentials{User: "AKIAEXAMPLE", Pass: "secret"}, false},
		{ecr.Credentials{User: "AKIAEXAMPLE", Pass: ""}, false}, // Classify refuses it
		{ecr.Credentials{}, false},
	} {
		if got := tc.c.UsesHostIdentity(); got != tc.want {
			t.Errorf("%+v.UsesHostIdentity() = %v, want %v", tc.c, got, tc.want)
		}
		if a, err := ecr.Classify(tc.c); err == nil && a.UsesHostIdentity() != tc.want {
			t.Errorf("Classify(%+v).UsesHostIdentity() = %v, want %v", tc.c, a.UsesHostIdentity(), tc.want)
		}
	}
}
