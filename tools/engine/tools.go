//go:build tools

// Package tools pins the Go programs that make up Orchestra's Pulumi engine, so that
// `go mod tidy` keeps their dependencies in go.mod/go.sum. It is never compiled.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
