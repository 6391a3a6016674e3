// Package helper is the core of docker-credential-anchore: it turns a server
// URL into a registry key, finds the entry by Anchore's lookup rule, and
// resolves it (stored user and password, or an Amazon ECR token). The
// Backend interface has a vault implementation (direct mode) and a daemon
// client (anchored's socket).
package helper
