// Package helper is the Docker credential-helper protocol's vocabulary: a
// server URL to its registry key (Normalize, and CheckText for what never
// names a registry), the Backend interface the protocol actions call, and
// its errors. The entries themselves and their one workflow are
// pkg/registries (which also has the in-process Backend); the daemon
// client is pkg/helper/daemonclient.
package helper
