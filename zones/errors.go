package zones

import (
	"errors"
	"fmt"
)

// Kind classifies an error so the admin API can carry it across HTTP and the
// CLI can pick an exit status.
type Kind string

const (
	KindInvalid  Kind = "invalid"   // bad input: nothing was written
	KindNotFound Kind = "not_found" // no such zone or record
	KindExists   Kind = "exists"    // already present
	KindInternal Kind = "internal"  // store or I/O failure
)

// Error is the error value every Editor method returns. Field and Line name
// the offending input where there is one ("ttl", "data"; a zone-file line).
type Error struct {
	Kind  Kind   `json:"kind"`
	Field string `json:"field,omitempty"`
	Line  int    `json:"line,omitempty"`
	File  string `json:"file,omitempty"`
	Msg   string `json:"message"`
}

func (e *Error) Error() string {
	s := e.Msg
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	if e.Line > 0 {
		loc := fmt.Sprintf("line %d", e.Line)
		if e.File != "" {
			loc = fmt.Sprintf("%s:%d", e.File, e.Line)
		}
		s = loc + ": " + s
	}
	return s
}

// Invalid returns a KindInvalid error naming field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// NotFound returns a KindNotFound error.
func NotFound(format string, args ...any) *Error {
	return &Error{Kind: KindNotFound, Msg: fmt.Sprintf(format, args...)}
}

// Exists returns a KindExists error.
func Exists(format string, args ...any) *Error {
	return &Error{Kind: KindExists, Msg: fmt.Sprintf(format, args...)}
}

// KindOf reports the Kind of err, KindInternal for foreign errors.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}
