// Command anchored serves the Anchore Engine authentication API and keeps
// the vault unlocked for docker-credential-anchore. (Filled in by the daemon work.)
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "anchored: not built yet")
	os.Exit(2)
}
