package types

import (
	"errors"
	"fmt"
)

// ErrTruncated is wrapped by errors caused by input that ends before a field
// or value does.
var ErrTruncated = errors.New("truncated")

// ErrTooDeep is wrapped by errors for types nested deeper than MaxDepth.
var ErrTooDeep = errors.New("type nested too deeply")

// MaxDepth bounds the nesting of types read from the wire or from class
// names, so hostile input cannot exhaust the stack.
const MaxDepth = 64

// OptionError reports an [option] that could not be decoded or encoded. Offset
// counts bytes from the start of the slice given to [ReadOption]; it is -1 for
// encoding errors. The frame package adds its own offset of that slice.
type OptionError struct {
	Field  string // e.g. "udt field count", "custom class"
	Offset int
	Err    error
}

func (e *OptionError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("types: option %s: %v", e.Field, e.Err)
	}
	return fmt.Sprintf("types: option %s at offset %d: %v", e.Field, e.Offset, e.Err)
}

func (e *OptionError) Unwrap() error { return e.Err }

// ClassNameError reports a Java marshal class name that could not be parsed.
// Offset is the byte offset in the class name where parsing stopped.
type ClassNameError struct {
	Class  string
	Offset int
	Err    error
}

func (e *ClassNameError) Error() string {
	class := e.Class
	if len(class) > 200 { // keep hostile input out of logs
		class = class[:200] + "..."
	}
	return fmt.Sprintf("types: class name %q at offset %d: %v", class, e.Offset, e.Err)
}

func (e *ClassNameError) Unwrap() error { return e.Err }
