//go:build tools

// Keeps the scheduler's main package in this module's graph so that
// `go build github.com/dapr/dapr/cmd/scheduler` resolves from go.sum.
package main

import _ "github.com/dapr/dapr/cmd/scheduler"
