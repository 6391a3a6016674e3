package helpercli

import (
	"context"
	"fmt"
)

// runProtocol serves one Docker protocol action. (Filled in by the helper work.)
func runProtocol(ctx context.Context, action string, env Env) int {
	fmt.Fprintln(env.Stdout, "credentials not found in native keychain")
	return 1
}
