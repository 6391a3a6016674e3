// Command trivialhelper is the benchmarks' floor for a credential helper: a
// Go process that answers "get" with a fixed answer through the same
// credentials library framing (credentials.Serve), doing nothing else. The
// difference between it and docker-credential-anchore is what our own work
// costs per call.
package main

import (
	"errors"

	"github.com/docker/docker-credential-helpers/credentials"
)

type fixed struct{}

func (fixed) Add(*credentials.Credentials) error { return errors.New("read-only") }
func (fixed) Delete(string) error                { return errors.New("read-only") }
func (fixed) Get(string) (string, string, error) { return "user", "secret", nil }
func (fixed) List() (map[string]string, error)   { return map[string]string{}, nil }

func main() { credentials.Serve(fixed{}) }
