package main

import (
	"context"
	"errors"
	"io"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/s3"
)

// offsite reaches the offsite target from the control plane through the s3
// package, with its errors in the project's codes.
type offsite struct{}

var _ pressluft.OffsiteClient = offsite{}

func s3Target(t pressluft.OffsiteTarget) s3.Target {
	return s3.Target{Endpoint: t.Endpoint, UseTLS: t.UseTLS, Region: t.Region, Bucket: t.Bucket, AccessKey: t.AccessKey, SecretKey: t.SecretKey}
}

func offsiteError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var e *s3.Error
	if errors.As(err, &e) {
		msg = e.Message
	}
	return pressluft.Errorf(s3.Code(err), "%s", msg)
}

func (offsite) Test(ctx context.Context, t pressluft.OffsiteTarget) error {
	return offsiteError(s3.Test(ctx, s3Target(t), t.Prefix))
}

func (offsite) Open(ctx context.Context, t pressluft.OffsiteTarget, key string, offset, length int64) (io.ReadCloser, int64, error) {
	rc, size, err := s3.Open(ctx, s3Target(t), key, offset, length)
	return rc, size, offsiteError(err)
}
