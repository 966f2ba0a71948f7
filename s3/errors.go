package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/minio/minio-go/v7"
)

// Error codes, the same strings as the project's offsite codes.
const (
	CodeAuth        = "offsite_auth_failed" // credentials, signature or permissions refused
	CodeUnreachable = "offsite_unreachable" // DNS, connection, timeout, TLS
	CodeFailed      = "offsite_failed"      // anything else: no such bucket, a damaged copy
)

// Error is a failure with one of the codes and a message that says what
// to do. Err is the library's error, for logs.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Err }

// Code returns err's code: the package's own, or one derived from a
// library or network error; "" for nil.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	code, _ := classify(err)
	return code
}

// wrap turns a library error into an *Error saying what failed while
// doing what.
func wrap(err error, t Target, doing string) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	code, reason := classify(err)
	var msg string
	switch code {
	case CodeAuth:
		msg = fmt.Sprintf("The offsite target %s refused the credentials while %s (%s): check the access key, the secret key, the region and the key's permissions on bucket %q.",
			t.Endpoint, doing, reason, t.Bucket)
	case CodeUnreachable:
		msg = fmt.Sprintf("The offsite target %s did not answer while %s (%s): check the endpoint, whether it uses TLS, and that the node can reach it.",
			t.Endpoint, doing, reason)
	default:
		msg = fmt.Sprintf("The offsite target %s failed while %s: %s.", t.Endpoint, doing, reason)
	}
	return &Error{Code: code, Message: msg, Err: err}
}

// authCodes are S3 error codes that mean the request's identity was refused.
var authCodes = map[string]bool{
	"AccessDenied": true, "InvalidAccessKeyId": true, "SignatureDoesNotMatch": true, "InvalidToken": true,
	"ExpiredToken": true, "TokenRefreshRequired": true, "AuthorizationHeaderMalformed": true,
	"AuthorizationQueryParametersError": true, "InvalidSecurity": true, "AccountProblem": true,
	"AllAccessDisabled": true, "RequestTimeTooSkewed": true, "MissingSecurityHeader": true,
	"Forbidden": true,
}

// classify maps an error to a code and a short reason.
func classify(err error) (string, string) {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && (resp.Code != "" || resp.StatusCode != 0) {
		reason := resp.Code
		if resp.Message != "" && resp.Message != resp.Code {
			reason += ": " + strings.TrimSuffix(resp.Message, ".")
		}
		switch {
		case authCodes[resp.Code], resp.StatusCode == 401, resp.StatusCode == 403:
			if resp.Code == "AuthorizationHeaderMalformed" && resp.Region != "" {
				reason += "; the bucket is in region " + resp.Region
			}
			return CodeAuth, reason
		case resp.Code == "NoSuchBucket":
			return CodeFailed, "the bucket does not exist; create it or correct its name"
		}
		if resp.StatusCode >= 500 && reason == "" {
			reason = fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
		return CodeFailed, reason
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return CodeUnreachable, "TLS certificate not trusted: " + shortErr(err)
	case errors.As(err, &recordErr):
		return CodeUnreachable, "the endpoint does not speak TLS (is use_tls right?)"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return CodeUnreachable, "the host name " + dnsErr.Name + " does not resolve"
	}
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return CodeUnreachable, "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return CodeUnreachable, "no route to host"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return CodeUnreachable, "timed out"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return CodeUnreachable, "the connection was closed"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return CodeUnreachable, shortErr(opErr)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		// net/http replaces these with plain errors: only their text tells.
		msg := urlErr.Err.Error()
		if strings.Contains(msg, "server gave HTTP response to HTTPS client") {
			return CodeUnreachable, "the endpoint speaks plain HTTP (turn use_tls off)"
		}
		if strings.Contains(msg, "malformed HTTP response") {
			return CodeUnreachable, "the endpoint does not speak plain HTTP (turn use_tls on)"
		}
	}
	return CodeFailed, shortErr(err)
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strings.TrimSuffix(s, ".")
}

// IsNotFound reports whether err says the object does not exist (the
// bucket does).
func IsNotFound(err error) bool {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return false
	}
	return resp.Code == minio.NoSuchKey || resp.StatusCode == 404 && resp.Code != minio.NoSuchBucket
}
