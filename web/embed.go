// Package web holds the dashboard: plain HTML, CSS and ES modules embedded
// into the binary, so serving it needs no Node toolchain and no build step.
package web

import (
	"embed"
	"io/fs"
)

// Files is the embedded tree; paths start with "static/".
//
//go:embed static
var Files embed.FS

// FS returns the dashboard files rooted at static/ (index.html at the top).
func FS() fs.FS {
	sub, err := fs.Sub(Files, "static")
	if err != nil {
		// Only reachable if the embed directive above is changed.
		panic(err)
	}
	return sub
}
