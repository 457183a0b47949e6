package auth

import (
	"fmt"
	"log/slog"
)

// Secret holds a password. It prints as "[redacted]" (or "" when empty)
// with every fmt verb, in log/slog output and in JSON, so that a
// configuration struct holding one can be logged or printed safely. Convert
// it with string(s) where the value itself is needed.
type Secret string

const redacted = "[redacted]"

func (s Secret) masked() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string { return s.masked() }

// GoString returns a redacted Go expression: auth.Secret("[redacted]").
func (s Secret) GoString() string { return fmt.Sprintf("auth.Secret(%q)", s.masked()) }

// Format prints the redacted form whatever the verb (%v, %s, %q, %x, %d, %#v, ...).
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
	case 'q':
		fmt.Fprintf(f, "%q", s.masked())
		return
	}
	fmt.Fprint(f, s.masked())
}

// LogValue implements slog.LogValuer: the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.masked()) }

// MarshalJSON encodes the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return fmt.Appendf(nil, "%q", s.masked()), nil }

// MarshalText encodes the redacted form (encoding/xml, flag packages, ...).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.masked()), nil }
