// Package version holds the build's version, set at link time:
//
//	go build -ldflags "-X github.com/anchored/anchored/internal/version.Version=v1.2.3"
package version

// Version is injected by the Makefile; "dev" for plain go builds.
var Version = "dev"
