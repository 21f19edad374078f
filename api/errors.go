package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes of the REST error envelope.
const (
	CodeInvalid         = "invalid_argument"
	CodeNotFound        = "not_found"
	CodeAlreadyExists   = "already_exists"
	CodeConflict        = "conflict"
	CodeTooLarge        = "payload_too_large"
	CodeUnauthenticated = "unauthenticated"
	CodeForbidden       = "forbidden"
	CodeUnavailable     = "unavailable"
	CodeInternal        = "internal"
	CodeMethod          = "method_not_allowed"
)

// Error is the REST error envelope's payload:
//
//	{"error": {"code": "invalid_argument", "message": "...", "field": "trigger.cron"}}
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`

	// Status is the HTTP status the error travels with.
	Status int `json:"-"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// ErrorBody is the JSON envelope around an Error.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// Invalid returns a 400 error naming field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Message: fmt.Sprintf(format, args...), Field: field, Status: http.StatusBadRequest}
}

// NotFound returns a 404 error.
func NotFound(format string, args ...any) *Error {
	return &Error{Code: CodeNotFound, Message: fmt.Sprintf(format, args...), Status: http.StatusNotFound}
}

// AlreadyExists returns a 409 error.
func AlreadyExists(format string, args ...any) *Error {
	return &Error{Code: CodeAlreadyExists, Message: fmt.Sprintf(format, args...), Status: http.StatusConflict}
}

// Unavailable returns a 503 error.
func Unavailable(format string, args ...any) *Error {
	return &Error{Code: CodeUnavailable, Message: fmt.Sprintf(format, args...), Status: http.StatusServiceUnavailable}
}

// StatusOf returns the HTTP status for err: the Status of an *Error in its
// chain, else 500.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) && e.Status != 0 {
		return e.Status
	}
	return http.StatusInternalServerError
}

// AsError returns err as an *Error, wrapping anything else as internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: err.Error(), Status: http.StatusInternalServerError}
}
