// Package daemon runs anchored's listeners: the Unix socket (file mode and
// a peer-credential check on every connection), HTTPS, and plain HTTP only
// on loopback; sockets passed by systemd socket activation; readiness and
// stopping notices to systemd; and a graceful stop that lets in-flight
// requests finish.
package daemon
