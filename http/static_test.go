package http_test

import (
	"io/fs"
	"testing/fstest"
)

func staticFS() fs.FS {
	return fstest.MapFS{
		"index.html": {Data: []byte("<!doctype html><html><body>dashboard</body></html>")},
		"app.css":    {Data: []byte("body{}")},
	}
}
