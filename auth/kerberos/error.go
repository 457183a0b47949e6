package kerberos

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/messages"
)

// Error is a failed step of a Kerberos login: with the KDC (login,
// service ticket), with the ticket cache, or with the server (its AP-REP,
// its KRB-ERROR, the security-layer messages). It names the client
// principal and, when relevant, the service principal, never a password or
// key. Match it with errors.As.
type Error struct {
	// Step is what failed, e.g. "login", "getting a service ticket",
	// "reading the ticket cache", "verifying the server's AP-REP".
	Step string
	// Principal is the client principal (name@REALM).
	Principal string
	// Service is the server principal, when the step concerns it.
	Service string
	// Source is where the client's credentials come from ("password",
	// "keytab <file>", "ticket cache <file>"), when relevant.
	Source string
	// Code is the Kerberos error code (RFC 4120 7.5.9) the KDC or the
	// server answered with, and Name its name (e.g. 24,
	// "KDC_ERR_PREAUTH_FAILED"); 0 and "" when the failure is local.
	Code int32
	Name string
	// Reason is the KDC's (or the local) explanation.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("kerberos: ")
	b.WriteString(e.Step)
	b.WriteString(" for ")
	b.WriteString(e.Principal)
	if e.Source != "" {
		fmt.Fprintf(&b, " (%s)", e.Source)
	}
	if e.Service != "" {
		b.WriteString(" to service ")
		b.WriteString(e.Service)
	}
	b.WriteString(" failed")
	if e.Name != "" {
		fmt.Fprintf(&b, ": %s (%d)", e.Name, e.Code)
	}
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if h := hint(e.Code); h != "" {
		fmt.Fprintf(&b, " [%s]", h)
	}
	if e.Err != nil && e.Name == "" && e.Reason == "" {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// hint says what usually causes a Kerberos error code.
func hint(code int32) string {
	switch code {
	case errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN:
		return "the KDC does not know this client principal"
	case errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN:
		return "the KDC does not know this service principal: check ServiceName, the node's host name and CanonicalizeHost"
	case errorcode.KDC_ERR_PREAUTH_FAILED, errorcode.KRB_AP_ERR_BAD_INTEGRITY:
		return "wrong password, or a keytab whose key is stale (the key was changed since it was exported) or belongs to another principal"
	case errorcode.KDC_ERR_CLIENT_REVOKED:
		return "the principal is locked, disabled or expired"
	case errorcode.KDC_ERR_KEY_EXPIRED:
		return "the password has expired"
	case errorcode.KRB_AP_ERR_TKT_EXPIRED:
		return "the ticket has expired"
	case errorcode.KRB_AP_ERR_SKEW:
		return "the clocks of this host, the KDC and the server differ too much"
	case errorcode.KRB_AP_ERR_MODIFIED, errorcode.KRB_AP_ERR_BADKEYVER, errorcode.KRB_AP_ERR_NOKEY:
		return "the server's keytab does not match the KDC's key for the service principal"
	}
	return ""
}

// gokrb5 flattens its errors to text; a KDC's KRB-ERROR shows as
// "KRB Error: (24) KDC_ERR_PREAUTH_FAILED Pre-authentication information was invalid - <e-text>".
var krbErrorText = regexp.MustCompile(`KRB Error: \((\d+)\) ([A-Z][A-Z0-9_]+) ?([^<\]]*)`)

// newError describes a gokrb5 failure of a KDC exchange.
func newError(step, principal, service, source string, err error) *Error {
	e := &Error{Step: step, Principal: principal, Service: service, Source: source, Err: err}
	if ke, ok := err.(messages.KRBError); ok {
		e.Code, e.Name, e.Reason = krbErrorParts(ke)
		return e
	}
	text := err.Error()
	if m := krbErrorText.FindStringSubmatch(text); m != nil {
		code, _ := strconv.ParseInt(m[1], 10, 32)
		e.Code, e.Name, e.Reason = int32(code), m[2], strings.TrimSpace(m[3])
		return e
	}
	switch {
	case strings.Contains(text, "password/keytab incorrect"), strings.Contains(text, "error decrypting EncPart of AS_REP"):
		e.Reason = "could not decrypt the KDC's reply: wrong password, or a stale keytab"
	case strings.Contains(text, "failed to communicate with KDC"), strings.Contains(text, "Networking_Error"):
		e.Reason = "could not reach a KDC of realm " + realmOf(principal) + ": " + lastPart(text)
	default:
		e.Reason = lastPart(text)
	}
	return e
}

// krbErrorParts splits a KRB-ERROR into code, name and reason.
func krbErrorParts(ke messages.KRBError) (int32, string, string) {
	desc := errorcode.Lookup(ke.ErrorCode) // "(24) KDC_ERR_PREAUTH_FAILED Pre-authentication information was invalid"
	name, reason := "", desc
	if i := strings.IndexByte(desc, ')'); i >= 0 {
		rest := strings.TrimSpace(desc[i+1:])
		name, reason, _ = strings.Cut(rest, " ")
	}
	if ke.EText != "" {
		reason += " - " + ke.EText
	}
	return ke.ErrorCode, name, reason
}

func realmOf(principal string) string {
	if i := strings.LastIndexByte(principal, '@'); i >= 0 {
		return principal[i+1:]
	}
	return principal
}

// lastPart keeps the most specific part of gokrb5's "a < b < c" error text.
func lastPart(s string) string {
	s = strings.TrimPrefix(s, "[Root cause: ")
	if i := strings.Index(s, "] "); i >= 0 && !strings.Contains(s[:i], " ") {
		s = s[i+2:]
	}
	if i := strings.LastIndex(s, " < "); i >= 0 {
		s = s[i+3:]
	}
	return s
}
