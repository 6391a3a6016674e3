// Command anchored serves the Anchore Engine authentication API (accounts,
// users, OAuth2 tokens) over a Unix socket, HTTPS or loopback HTTP, and
// keeps the vault unlocked for docker-credential-anchore.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}
