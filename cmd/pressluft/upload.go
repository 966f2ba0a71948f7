package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// rawBody is a request body sent as it is, of a size known before it is
// sent (the API refuses an upload without Content-Length).
type rawBody struct {
	r           io.Reader
	size        int64
	contentType string
}

// archiveBody opens the archive to upload: a file, or with "-" stdin when
// it is a file itself (a pipe has no length to declare).
func archiveBody(name string, stdin io.Reader) (rawBody, func() error, error) {
	f, ok := stdin.(*os.File)
	if name != "-" {
		var err error
		if f, err = os.Open(name); err != nil {
			return rawBody{}, nil, err
		}
		ok = true
	}
	if !ok {
		return rawBody{}, nil, fmt.Errorf("--archive-file - reads stdin, which is not a file here")
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("--archive-file %s is not a regular file: the upload needs its length first (write a pipe to a file, then upload the file)", name)
	}
	var offset int64
	if err == nil {
		offset, err = f.Seek(0, io.SeekCurrent)
	}
	if err == nil && fi.Size()-offset <= 0 {
		err = fmt.Errorf("--archive-file %s is empty", name)
	}
	closeFile := func() error {
		if name == "-" {
			return nil
		}
		return f.Close()
	}
	if err != nil {
		closeFile()
		return rawBody{}, nil, err
	}
	return rawBody{r: f, size: fi.Size() - offset, contentType: archiveType(name)}, closeFile, nil
}

// archiveType is the Content-Type for an archive's name; the node tells
// the format by the content, so an unknown name is just bytes.
func archiveType(name string) string {
	switch n := strings.ToLower(name); {
	case strings.HasSuffix(n, ".zip"):
		return "application/zip"
	case strings.HasSuffix(n, ".gz"), strings.HasSuffix(n, ".tgz"):
		return "application/gzip"
	case strings.HasSuffix(n, ".zst"), strings.HasSuffix(n, ".tzst"):
		return "application/zstd"
	}
	return "application/octet-stream"
}
