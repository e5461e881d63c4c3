package crm

import (
	"errors"
	"fmt"

	"github.com/assocrm/assocrm/internal/dbutil"
)

// Sentinel errors. Every error the package returns for one of these
// conditions wraps the matching sentinel, so test with errors.Is.
var (
	// ErrNotFound means the record asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the write would break a uniqueness rule, such as a
	// second supporter with the same email.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the input was rejected before anything was written.
	// The error is also a *ValidationError naming the field.
	ErrInvalid = errors.New("invalid input")
	// ErrSchemaTooNew means the database was migrated by a newer version of
	// this library; opening it with this one could corrupt it.
	ErrSchemaTooNew = dbutil.ErrSchemaTooNew
	// ErrSchemaTooOld means a database opened read-only (see ReadOnly)
	// lacks migrations this program needs, which it may not apply.
	ErrSchemaTooOld = dbutil.ErrSchemaTooOld
	// ErrReadOnly means a write was asked of a database opened read-only.
	ErrReadOnly = errors.New("the database is opened read-only")
)

// ValidationError reports one rejected field. It wraps ErrInvalid.
type ValidationError struct {
	Field  string // the field or flag-like name at fault, e.g. "email"
	Value  string // the offending value, as given
	Reason string // what is wrong, e.g. "invalid address"
}

// Error names the field, the value when there is one, and the reason.
func (e *ValidationError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(field, value, reason string) error {
	return &ValidationError{Field: field, Value: value, Reason: reason}
}

// notFound wraps ErrNotFound with the kind of record that was missing.
func notFound(what string) error {
	return fmt.Errorf("%s: %w", what, ErrNotFound)
}

// sentinelError is an error whose message says it all and that wraps a
// sentinel (ErrNotFound, ErrConflict) without ending with the
// sentinel's own word: "no receipt 2026-0009", not "no receipt
// 2026-0009: not found". errors.Is still finds the sentinel.
type sentinelError struct {
	msg      string
	sentinel error
}

func (e *sentinelError) Error() string { return e.msg }

// Unwrap returns the sentinel.
func (e *sentinelError) Unwrap() error { return e.sentinel }

// errorOf makes a *sentinelError from a format and its arguments.
func errorOf(sentinel error, format string, args ...any) error {
	return &sentinelError{msg: fmt.Sprintf(format, args...), sentinel: sentinel}
}
