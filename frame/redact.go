package frame

import (
	"fmt"
	"log/slog"

	"github.com/cqlwire/cqlwire/internal/redact"
)

// An AUTH_RESPONSE token is a credential (PLAIN's holds the password), so
// fmt and log/slog show only its length. Describe, for captured traffic,
// still shows the bytes.

func (m *AuthResponse) redacted() *redact.Desc {
	if m == nil {
		return redact.Nil("frame.AuthResponse")
	}
	token := "null"
	if m.Token != nil {
		token = fmt.Sprintf("%d bytes", len(m.Token))
	}
	return redact.NewRef("frame.AuthResponse").Always("Token", token)
}

// String shows the token's length, never its bytes.
func (m *AuthResponse) String() string { return m.redacted().String() }

// GoString is String as a Go expression.
func (m *AuthResponse) GoString() string { return m.redacted().GoString() }

// Format prints String whatever the verb (quoted with %q), GoString with %#v.
func (m *AuthResponse) Format(f fmt.State, verb rune) {
	redact.Format(f, verb, m.String(), m.GoString())
}

// LogValue implements slog.LogValuer: the token's length.
func (m *AuthResponse) LogValue() slog.Value { return m.redacted().LogValue() }
