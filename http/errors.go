package http

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/pressluft/pressluft"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[string]int{
	pressluft.EBadRequest:          http.StatusBadRequest,
	pressluft.EValidation:          http.StatusBadRequest,
	pressluft.EUnauthorized:        http.StatusUnauthorized,
	pressluft.EInvalidCreds:        http.StatusUnauthorized,
	pressluft.EForbidden:           http.StatusForbidden,
	pressluft.ENotFound:            http.StatusNotFound,
	pressluft.EConflict:            http.StatusConflict,
	pressluft.EResourceBusy:        http.StatusConflict,
	pressluft.ENodeNotActive:       http.StatusConflict,
	pressluft.ENodeReachable:       http.StatusConflict,
	pressluft.EJobNotCancellable:   http.StatusConflict,
	pressluft.EResourceNotFailed:   http.StatusConflict,
	pressluft.EResetValidation:     http.StatusConflict,
	pressluft.EHostKeyMismatch:     http.StatusConflict,
	pressluft.ESourceMismatch:      http.StatusUnprocessableEntity,
	pressluft.EUnprocessable:       http.StatusUnprocessableEntity,
	pressluft.EWPError:             http.StatusUnprocessableEntity,
	pressluft.ERateLimited:         http.StatusTooManyRequests,
	pressluft.ENodeUnreachable:     http.StatusBadGateway,
	pressluft.ESSHAuthFailed:       http.StatusBadGateway,
	pressluft.ENotImplemented:      http.StatusNotImplemented,
	pressluft.EInternal:            http.StatusInternalServerError,
	pressluft.EBackupInUse:         http.StatusConflict,
	pressluft.EBackupUnavailable:   http.StatusConflict,
	pressluft.EChecksumMismatch:    http.StatusUnprocessableEntity,
	pressluft.EUnsafeArchive:       http.StatusUnprocessableEntity,
	pressluft.EOffsiteAuth:         http.StatusBadGateway,
	pressluft.EOffsiteUnreachable:  http.StatusBadGateway,
	pressluft.EOffsiteFailed:       http.StatusBadGateway,
	pressluft.EInsufficientSpace:   http.StatusInsufficientStorage,
	pressluft.ERangeNotSatisfiable: http.StatusRequestedRangeNotSatisfiable,
	pressluft.ELengthRequired:      http.StatusLengthRequired,
	pressluft.EUnsupportedMedia:    http.StatusUnsupportedMediaType,
	pressluft.EArchiveTooLarge:     http.StatusRequestEntityTooLarge,
	pressluft.EDriftNotClean:       http.StatusConflict,
	pressluft.EBackupNotFresh:      http.StatusConflict,
	pressluft.EBaselineMissing:     http.StatusConflict,
	pressluft.EPromotionInvalid:    http.StatusUnprocessableEntity,
}

// ErrorStatus returns the HTTP status for an error code.
func ErrorStatus(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// writeError answers with the error body; internal errors are logged with
// the request id and answered without their text.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := pressluft.ErrorCode(err)
	if code == pressluft.EInternal {
		s.logger.Error("internal error", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
	}
	body := errorBody{Code: code, Message: pressluft.ErrorMessage(err), Details: pressluft.ErrorDetails(err)}
	if code == pressluft.EInternal {
		body.Message = "Internal error; the request id is in the logs."
		body.Details = map[string]any{"request_id": requestID(r)}
	}
	writeJSON(w, ErrorStatus(code), body)
}

// reply answers with v, or with err when there is one.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}

// maxBody is the largest request body accepted.
const maxBody = 1 << 20

// decode reads one JSON object into v, rejecting unknown fields, wrong
// types, trailing data, anything but an object (null included) and bodies
// over 1 MiB with bad_request.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body := bufio.NewReader(http.MaxBytesReader(w, r.Body, maxBody))
	// encoding/json takes null for a struct as "leave it alone".
	if c, ok := firstNonSpace(body); ok && c != '{' {
		return pressluft.Errorf(pressluft.EBadRequest, "Request body must be a JSON object.")
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, e := dec.Token(); !errors.Is(e, io.EOF) {
			return pressluft.Errorf(pressluft.EBadRequest, "Request body must be a single JSON object.")
		}
		return nil
	}
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &maxErr):
		return pressluft.Errorf(pressluft.EBadRequest, "Request body is larger than %d bytes.", maxBody)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return pressluft.Errorf(pressluft.EBadRequest, "Request body must be a JSON object.")
	case errors.As(err, &typeErr):
		field := clipField(typeErr.Field)
		return &pressluft.Error{Code: pressluft.EBadRequest, Message: fmt.Sprintf("Field %q must be %s.", field, jsonKind(typeErr.Type)),
			Details: map[string]any{"field": field}}
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return pressluft.Errorf(pressluft.EBadRequest, "Request body is not valid JSON.")
	case errors.Is(err, io.EOF):
		return pressluft.Errorf(pressluft.EBadRequest, "Request body is empty; a JSON object is required.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for unknown fields.
		field := clipField(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
		return &pressluft.Error{Code: pressluft.EBadRequest, Message: fmt.Sprintf("Unknown field %q.", field), Details: map[string]any{"field": field}}
	default:
		return pressluft.Errorf(pressluft.EBadRequest, "Request body could not be read as JSON.")
	}
}

// jsonKind names what a Go type accepts in JSON terms: messages never show
// Go type names.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "of another JSON type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	}
	return "of another JSON type"
}

// clipField keeps a field name read from the request short in answers.
func clipField(f string) string {
	if len(f) > 100 {
		return strings.ToValidUTF8(f[:100], "") + "…"
	}
	return f
}

// firstNonSpace peeks at the first byte after JSON white space.
func firstNonSpace(r *bufio.Reader) (byte, bool) {
	for {
		c, err := r.ReadByte()
		if err != nil {
			return 0, false
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c, r.UnreadByte() == nil
		}
	}
}
