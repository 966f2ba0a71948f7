// Package web holds the dashboard: a Nuxt single-page app (sources in app/)
// whose generated files in dist/ are committed and embedded, so building and
// serving the binary needs no Node toolchain. `make web` regenerates dist/.
package web

import (
	"embed"
	"io/fs"
)

// files is the generated app; "all:" keeps the "_nuxt" directory.
//
//go:embed all:dist
var files embed.FS

// FS returns the dashboard files rooted at dist/ (index.html at the top).
func FS() fs.FS {
	sub, err := fs.Sub(files, "dist")
	if err != nil {
		// Only reachable if the embed directive above is changed.
		panic(err)
	}
	return sub
}
