package frame

import (
	"errors"
	"fmt"
)

// ErrTruncated is wrapped by every decode error caused by input that ends
// before a field does.
var ErrTruncated = errors.New("truncated")

// ErrTooLarge is wrapped by decode errors for lengths above the configured
// limits.
var ErrTooLarge = errors.New("length exceeds limit")

// DecodeError reports bytes that could not be decoded: which message, which
// field, at which offset (counted from the start of the body, or of the
// envelope for header errors), and why.
type DecodeError struct {
	Message string // e.g. "RESULT(Rows)"
	Field   string // e.g. "column_count"
	Offset  int
	Err     error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("frame: decoding %s: field %s at offset %d: %v", e.Message, e.Field, e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// EncodeError reports a message that cannot be encoded (a field out of range
// for the protocol version, a string longer than its length prefix allows).
type EncodeError struct {
	Message string
	Field   string
	Err     error
}

func (e *EncodeError) Error() string {
	return fmt.Sprintf("frame: encoding %s: field %s: %v", e.Message, e.Field, e.Err)
}

func (e *EncodeError) Unwrap() error { return e.Err }
