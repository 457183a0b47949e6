package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/auth"
)

const pw = "Sup3r-Secret-Pa55"

// leaks reports whether s shows pw, in clear or encoded the ways fmt can.
func leaks(s string) bool {
	for _, form := range []string{pw, fmt.Sprintf("%x", pw), fmt.Sprintf("%X", pw), fmt.Sprint([]byte(pw))} {
		if strings.Contains(s, form) {
			return true
		}
	}
	return false
}

var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%10.3v"}

func TestSecretsNeverPrinted(t *testing.T) {
	type config struct {
		Auth   auth.Plain
		Secret auth.Secret
		Ptr    *auth.Plain
	}
	p := auth.Plain{Username: "bob", Password: pw, AuthorizationID: "alice"}
	x, _, err := p.Start(context.Background(), dseServer)
	if err != nil {
		t.Fatal(err)
	}
	x2, _, err := p.Start(context.Background(), dseServer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x2.Challenge(context.Background(), []byte("PLAIN-START")); err != nil {
		t.Fatal(err)
	}
	values := []any{auth.Secret(pw), p, &p, config{p, pw, &p}, &config{p, pw, &p}, []auth.Plain{p}, map[string]auth.Secret{"k": pw}, x, x2}
	for _, v := range values {
		for _, verb := range verbs {
			if s := fmt.Sprintf(verb, v); leaks(s) {
				t.Errorf("%s of %T shows the password: %s", verb, v, s)
			}
		}
		if b, err := json.Marshal(v); err == nil && leaks(string(b)) {
			t.Errorf("JSON of %T shows the password: %s", v, b)
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "v", v)
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "v", v)
		if leaks(buf.String()) {
			t.Errorf("slog of %T shows the password: %s", v, buf.String())
		}
	}
	if s := fmt.Sprint(auth.Secret(pw)); s != "[redacted]" {
		t.Errorf("Secret prints as %q", s)
	}
	if s := fmt.Sprint(auth.Secret("")); s != "" {
		t.Errorf("empty Secret prints as %q", s)
	}
	if s := fmt.Sprintf("%v", p); s != "PLAIN(bob as alice)" {
		t.Errorf("Plain prints as %q", s)
	}
	// The value itself is still there for those who ask.
	if string(p.Password) != pw {
		t.Error("the password was altered")
	}
}
