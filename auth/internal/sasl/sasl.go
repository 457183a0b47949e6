// Package sasl holds what package auth's mechanisms share with the
// mechanisms of this module that live in their own packages (auth/kerberos,
// kept apart so that importing auth does not link gokrb5): the
// authenticator allow-list, how a server token is shown in an error, and
// the mark by which auth.Describe recognises them.
//
// It imports only the standard library.
package sasl

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrNotAllowed is auth.ErrAuthenticatorNotAllowed. It is declared here so
// that every mechanism wraps the same value.
var ErrNotAllowed = errors.New("auth: server authenticator class not allowed")

// CheckAllowed enforces a mechanism's allow-list of server authenticator
// classes (empty: any).
func CheckAllowed(mech string, allowed []string, class string) error {
	if len(allowed) == 0 || slices.Contains(allowed, class) {
		return nil
	}
	return fmt.Errorf("%w: %s: the server announced %q, which is not one of %q", ErrNotAllowed, mech, class, allowed)
}

// DescribeToken renders a server token for an error message: quoted text
// when it is short printable UTF-8, else its length and first bytes in hex.
// Server tokens are not secret, but may be large or binary.
func DescribeToken(b []byte) string {
	const maxText, maxHex = 64, 16
	if b == nil {
		return "a null token"
	}
	if len(b) == 0 {
		return "an empty token"
	}
	if len(b) <= maxText && utf8.Valid(b) && !strings.ContainsFunc(string(b), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return strconv.Quote(string(b))
	}
	n := min(len(b), maxHex)
	s := fmt.Sprintf("%d bytes (%x", len(b), b[:n])
	if n < len(b) {
		s += "..."
	}
	return s + ")"
}

// Vouched is the argument of Described.DescribeLogin. Only this module can
// name it, so only this module's mechanisms implement Described.
type Vouched struct{}

// Described is implemented by the mechanisms of this module outside
// package auth. auth.Describe shows what DescribeLogin returns (their
// String, which prints the login and never a credential) where it shows
// only the type name of any other package's authenticator.
type Described interface {
	DescribeLogin(Vouched) string
}
