package tokenserver

import "testing"

// SetPostgresStore lets pgstore_ext_test.go give TestAPIOnPostgres its
// store and the cluster's cleanup.
func SetPostgresStore(open func(t *testing.T) Store, cleanup func()) {
	newPGStore, closePG = open, cleanup
}
