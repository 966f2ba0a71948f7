package nodeagent

import (
	"errors"
	"fmt"

	"github.com/pressluft/pressluft/agent/protocol"
)

// Error is an operation's failure with one of the protocol's error codes.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// badField answers bad_request naming the field that failed validation.
func badField(field, format string, args ...any) *Error {
	return &Error{Code: protocol.ErrBadRequest, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// errorCode returns err's protocol code, internal for an error without one.
func errorCode(err error) (string, string) {
	if err == nil {
		return "", ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code, e.Message
	}
	return protocol.ErrInternal, err.Error()
}
