// Command gendocs writes the man pages and bash, zsh and fish completions of
// docker-credential-anchore and anchored from their live command trees.
// "make install" runs it:
//
//	go run ./packaging/gendocs -out bin/gen -version v1.2.3
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/anchored/anchored/internal/anchoredcli"
	"github.com/anchored/anchored/internal/gendocs"
	"github.com/anchored/anchored/internal/helpercli"
)

func main() {
	out := flag.String("out", "", "directory to write man/ and completions/ into")
	version := flag.String("version", "dev", "version named in the man pages")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: gendocs -out DIR [-version V]")
		os.Exit(2)
	}
	progs := []gendocs.Program{
		{New: helpercli.Command, Section: 1, Extra: helperExtra, Synopsis: helperSynopsis},
		{New: anchoredcli.Command, Section: 8, Extra: anchoredExtra},
	}
	if err := gendocs.Write(context.Background(), *out, *version, progs); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
