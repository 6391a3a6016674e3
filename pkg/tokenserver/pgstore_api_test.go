package tokenserver

import "testing"

// TestAPIOnPostgres reruns the API's own tests with the server on the
// PostgreSQL store (newEnv sees the name prefix): the same requests, the
// same answers, whichever store is behind them. The tests left out read
// the vault file itself to assert what was stored.
func TestAPIOnPostgres(t *testing.T) {
	if newPGStore == nil {
		t.Fatal("no PostgreSQL store: pgstore_ext_test.go did not register one")
	}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"TestSeedTranscript", TestSeedTranscript},
		{"TestPublicAndAuth", TestPublicAndAuth},
		{"TestOAuthOff", TestOAuthOff},
		{"TestTokenEndpointErrors", TestTokenEndpointErrors},
		{"TestPermissions", TestPermissions},
		{"TestHashedPasswords", TestHashedPasswords},
		{"TestClearPasswordTimingAndRehash", TestClearPasswordTimingAndRehash},
		{"TestPasswordCheckHook", TestPasswordCheckHook},
		{"TestRegistriesAPI", TestRegistriesAPI},
		{"TestHelperEndpointsSocketOnly", TestHelperEndpointsSocketOnly},
		{"TestOAuth2Client", TestOAuth2Client},
		{"TestJWTAttacks", TestJWTAttacks},
		{"TestDiscoveryDocument", TestDiscoveryDocument},
		{"TestRotateKeyPair", TestRotateKeyPair},
		{"TestRotateSharedSecret", TestRotateSharedSecret},
	} {
		t.Run(tc.name, tc.fn)
	}
}
