package auth

import (
	"bytes"
	"context"
	"testing"
)

// FuzzPlainChallenge: DSE's PLAIN challenge handling never panics and
// answers only "PLAIN-START".
func FuzzPlainChallenge(f *testing.F) {
	f.Add([]byte("PLAIN-START"))
	f.Add([]byte("GSSAPI-START"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, tok []byte) {
		x, _, err := Plain{Username: "bob", Password: "pw"}.Start(context.Background(), ServerInfo{Authenticator: DSEAuthenticator})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := x.Challenge(context.Background(), tok)
		if (err == nil) != (string(tok) == "PLAIN-START") {
			t.Fatalf("challenge %q: err %v", tok, err)
		}
		if err == nil && !bytes.Equal(resp, []byte("\x00bob\x00pw")) {
			t.Fatalf("answer %q", resp)
		}
		_ = x.Success(tok)
	})
}
