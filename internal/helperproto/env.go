// Package helperproto is docker-credential-anchore's protocol path: the five
// Docker protocol actions (get, store, erase, list, version) and the
// settings and backends they use, and nothing else.
//
// It is kept apart from internal/helpercli (the management commands, on
// urfave/cli) so that the binary Docker starts for every pull links only
// what a protocol action needs: Go runs every linked package's init before
// main, and process start is most of a "get" through the daemon
// (BENCHMARKS.md). cmd/docker-credential-anchore serves these actions
// itself and hands every other command line to the full CLI, which anchored
// carries. This package must not import urfave/cli, the AWS SDK or
// ecr-login (cmd/docker-credential-anchore's tests check).
package helperproto

import (
	"io"
	"time"

	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/helper/ecr/ecrexec"
)

// Name is the binary's name, as Docker finds it on PATH.
const Name = "docker-credential-anchore"

// Env is everything the helper touches outside the process, injected so
// tests run it in-process without a terminal, a real clock or real AWS.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Now            func() time.Time
	// Prompt reads a secret from the terminal; nil means no terminal.
	Prompt func(label string) (string, error)
	// ECR reaches AWS for awsecr entries (host recognition, token
	// fetches); nil means "anchored ecr" (ecrexec), which keeps the AWS SDK
	// out of this binary. It is only asked on a token cache miss and when
	// guessing a registry's type.
	ECR ecr.AWS
}

// AWS returns the AWS access of awsecr entries.
func (e *Env) AWS() ecr.AWS {
	if e.ECR != nil {
		return e.ECR
	}
	return ecrexec.Client{}
}
