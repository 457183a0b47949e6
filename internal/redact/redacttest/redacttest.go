// Package redacttest checks that a value holding credentials never prints
// them: with every fmt verb, inside slices, maps and structs, through
// log/slog's text and JSON handlers, and in JSON.
package redacttest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Verbs are the format strings Check applies, the usual ones and some that
// make no sense for a struct (fmt then walks the fields with them).
//
// %p is applied only to pointers: fmt handles %p before it looks for any
// method, and prints a non-pointer's fields raw ("%!p(auth.Secret=...)"),
// so no Format method can redact it. go vet reports %p of a non-pointer.
var Verbs = []string{
	"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%e", "%T", "%z",
	"%10v", "%-40s", "%#q", "% x", "%.3s", "%08d",
}

// Outputs returns every printed form of v that Check inspects, keyed by
// how it was produced.
func Outputs(v any) map[string]string {
	out := map[string]string{}
	for _, verb := range Verbs {
		out[verb] = fmt.Sprintf(verb, v)
		out["[]any "+verb] = fmt.Sprintf(verb, []any{v})
		out["map "+verb] = fmt.Sprintf(verb, map[string]any{"k": v})
		out["struct "+verb] = fmt.Sprintf(verb, struct{ V any }{v})
	}
	if reflect.ValueOf(v).Kind() == reflect.Pointer {
		out["%p"] = fmt.Sprintf("%p", v)
	}
	out["Sprint"] = fmt.Sprint(v)
	out["Sprintln"] = fmt.Sprintln(v, v)
	out["error %v"] = fmt.Errorf("wrapped: %v", v).Error()

	for name, newHandler := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"slog JSON": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var b bytes.Buffer
		log := slog.New(newHandler(&b))
		log.Info("value", "v", v)
		log.Info("any", slog.Any("v", v))
		log.Info("group", slog.Group("g", slog.Any("v", v)))
		log.With("v", v).Info("with")
		out[name] = b.String()
	}

	j, err := json.Marshal(v)
	out["json.Marshal"] = string(j)
	if err != nil {
		out["json.Marshal error"] = err.Error()
	}
	return out
}

// Check fails t when any printed form of v contains one of secrets, as
// text, hex (either case), base64 or the decimal byte list %v gives a
// []byte.
func Check(t testing.TB, v any, secrets ...string) {
	t.Helper()
	for how, s := range Outputs(v) {
		for _, secret := range secrets {
			if form, ok := contains(s, secret); ok {
				t.Errorf("%T printed with %s shows the secret %q (as %s):\n%s", v, how, secret, form, s)
			}
		}
	}
}

func contains(s, secret string) (form string, ok bool) {
	forms := map[string]string{
		"text":       secret,
		"hex":        hex.EncodeToString([]byte(secret)),
		"HEX":        strings.ToUpper(hex.EncodeToString([]byte(secret))),
		"spaced hex": fmt.Sprintf("% x", secret),
		"base64":     base64.StdEncoding.EncodeToString([]byte(secret)),
		"bytes":      strings.Trim(fmt.Sprint([]byte(secret)), "[]"),
		"quoted":     strings.Trim(fmt.Sprintf("%q", secret), `"`),
	}
	for form, f := range forms {
		if strings.Contains(s, f) {
			return form, true
		}
	}
	return "", false
}

// ClientCert is a freshly generated client certificate and key, and the
// forms of the private key that must never be printed.
type ClientCert struct {
	CertPEM, KeyPEM []byte
	TLS             *tls.Config // holds the certificate and its key
	// Secrets are the key's PEM, its base64 body and its scalar in decimal
	// and hex: pass them to Check.
	Secrets []string
}

// NewClientCert generates a self-signed ECDSA P-256 client certificate.
func NewClientCert(t testing.TB) ClientCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redacttest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := ClientCert{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	pair, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	c.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ServerName: "node1"}
	d := key.D.Bytes()
	c.Secrets = []string{string(c.KeyPEM), base64.StdEncoding.EncodeToString(keyDER)[:48], key.D.String(), hex.EncodeToString(d)}
	return c
}

// CheckPrints fails t when printing v panics in any of the ways Check
// prints it (fmt shows "%!v(PANIC=...)", slog "LogValue panicked").
//
// A nil pointer to a type whose LogValue has a value receiver cannot be
// logged without a panic (slog recovers and says so), as for any such type:
// for those only fmt is checked, which prints "<nil>".
func CheckPrints(t testing.TB, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	valueLogValuer := rv.Kind() == reflect.Pointer && rv.IsNil() && rv.Type().Elem().Implements(reflect.TypeFor[slog.LogValuer]())
	for how, s := range Outputs(v) {
		if valueLogValuer && strings.HasPrefix(how, "slog") {
			continue
		}
		if strings.Contains(s, "PANIC") || strings.Contains(s, "panicked") {
			t.Errorf("%T printed with %s panics:\n%s", v, how, s)
		}
	}
}
