// Package tokenserver is anchored's HTTP API: the Anchore Engine v1
// authentication API (accounts, users, credentials), its OAuth2 password
// grant and the JWTs it issues, as a plain http.Handler built from a Config
// and a Store. Tests mount it on httptest servers; the daemon mounts it on
// its listeners and tells it, per connection, which transport and peer it
// came from (WithConnInfo).
//
// What it keeps compatible: the routes, status codes, bodies and messages
// of Anchore Engine's v1 API as anchore-cli and OAuth2 clients see them
// (SPEC section 8), the JWT claims, and the error shapes. Where it
// deliberately differs from Anchore, docs/anchored.md says so.
//
// Layout: routes.go lists every route as data; auth.go is the one gate that
// authenticates (Basic through a PasswordCheck func that a cache or a
// throttle can wrap, Bearer through jwt.go) and puts the Caller in the
// request context; handlers are flat: permission, parse, store, encode.
package tokenserver
