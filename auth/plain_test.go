package auth_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/frame"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var passwordServer = auth.ServerInfo{Authenticator: auth.PasswordAuthenticator, Host: "127.0.0.1"}
var dseServer = auth.ServerInfo{Authenticator: auth.DSEAuthenticator, Host: "127.0.0.1"}

func TestPlainBytes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		plain  auth.Plain
		server auth.ServerInfo
		want   string // hex of the PLAIN token
	}{
		{"PasswordAuthenticator", auth.Plain{Username: "cassandra", Password: "secret"}, passwordServer,
			"00 63617373616e647261 00 736563726574"}, // \0cassandra\0secret
		{"any other class", auth.Plain{Username: "u", Password: "p"}, auth.ServerInfo{Authenticator: "com.example.Custom"},
			"00 75 00 70"},
		{"UTF-8", auth.Plain{Username: "é", Password: "ü"}, passwordServer,
			"00 c3a9 00 c3bc"},
		{"empty password", auth.Plain{Username: "u"}, passwordServer,
			"00 75 00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, tok, err := tc.plain.Start(ctx, tc.server)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tc.want); !bytes.Equal(tok, want) {
				t.Errorf("initial response %x, want %x", tok, want)
			}
			if err := x.Success(nil); err != nil {
				t.Errorf("Success(nil): %v", err)
			}
			if err := x.Success([]byte("anything")); err != nil {
				t.Errorf("Success(token): %v", err)
			}
			if _, err := x.Challenge(ctx, []byte("PLAIN-START")); err == nil {
				t.Error("a challenge after the credentials was accepted")
			}
		})
	}
	if got, want := auth.PlainToken("admin", "bob", "pw"), unhex(t, "61646d696e 00 626f62 00 7077"); !bytes.Equal(got, want) {
		t.Errorf("PlainToken with authzid = %x, want %x", got, want)
	}
}

// The exchange with DseAuthenticator: "PLAIN", then "PLAIN-START", then the
// token; with an authorization id for a proxy login.
func TestPlainDSE(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		plain auth.Plain
		want  string
	}{
		{"login", auth.Plain{Username: "bob", Password: "pw"}, "00 626f62 00 7077"},
		{"proxy login", auth.Plain{Username: "bob", Password: "pw", AuthorizationID: "alice"}, "616c696365 00 626f62 00 7077"}, // alice\0bob\0pw
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, tok, err := tc.plain.Start(ctx, dseServer)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, "504c41494e"); !bytes.Equal(tok, want) { // "PLAIN"
				t.Errorf("initial response %x (%q), want %x", tok, tok, want)
			}
			resp, err := x.Challenge(ctx, unhex(t, "504c41494e2d5354415254")) // "PLAIN-START"
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tc.want); !bytes.Equal(resp, want) {
				t.Errorf("answer to PLAIN-START %x, want %x", resp, want)
			}
			if _, err := x.Challenge(ctx, []byte("PLAIN-START")); err == nil {
				t.Error("a second challenge was answered")
			}
			if err := x.Success(nil); err != nil {
				t.Error(err)
			}
		})
	}

	for _, bad := range [][]byte{nil, {}, []byte("GSSAPI-START"), []byte("plain-start"), []byte("PLAIN-START\x00"), bytes.Repeat([]byte{0xff}, 100)} {
		x, _, err := auth.Plain{Username: "bob", Password: "hunter2"}.Start(ctx, dseServer)
		if err != nil {
			t.Fatal(err)
		}
		_, err = x.Challenge(ctx, bad)
		if err == nil || !strings.Contains(err.Error(), `want "PLAIN-START"`) {
			t.Errorf("challenge %q: err = %v", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

func TestPlainChecks(t *testing.T) {
	ctx := context.Background()
	// An authorization id with a server that would ignore it.
	_, _, err := auth.Plain{Username: "bob", Password: "pw", AuthorizationID: "alice"}.Start(ctx, passwordServer)
	if err == nil || !strings.Contains(err.Error(), auth.DSEAuthenticator) || !strings.Contains(err.Error(), auth.PasswordAuthenticator) {
		t.Errorf("authzid with PasswordAuthenticator: err = %v", err)
	}
	// Allow-list.
	p := auth.Plain{Username: "bob", Password: "pw", AllowedAuthenticators: []string{auth.PasswordAuthenticator}}
	if _, _, err := p.Start(ctx, passwordServer); err != nil {
		t.Errorf("allowed class: %v", err)
	}
	_, _, err = p.Start(ctx, auth.ServerInfo{Authenticator: "com.example.Sniffer"})
	if !errors.Is(err, auth.ErrAuthenticatorNotAllowed) || !strings.Contains(err.Error(), `"com.example.Sniffer"`) {
		t.Errorf("class not allowed: err = %v", err)
	}
	// Validation.
	for _, bad := range []auth.Plain{{}, {Username: "a\x00b"}, {Username: "a", Password: "p\x00w"}, {Username: "a", AuthorizationID: "\x00"}} {
		if _, _, err := bad.Start(ctx, passwordServer); err == nil {
			t.Errorf("%v accepted", bad)
		} else if strings.Contains(err.Error(), "p\x00w") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

// The wire bytes: PLAIN in an AUTH_RESPONSE, and the proxy-execute payload
// in a request envelope.
func TestWireBytes(t *testing.T) {
	_, tok, err := auth.Plain{Username: "bob", Password: "pw"}.Start(context.Background(), passwordServer)
	if err != nil {
		t.Fatal(err)
	}
	b, err := frame.AppendEnvelope(nil, &frame.Envelope{Version: frame.V4, Stream: 1, Message: &frame.AuthResponse{Token: tok}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// header: v4 request, no flags, stream 1, opcode AUTH_RESPONSE (0x0f), length 11;
	// body: [bytes] of 7: \0bob\0pw.
	if want := unhex(t, "04 00 0001 0f 0000000b  00000007 00 626f62 00 7077"); !bytes.Equal(b, want) {
		t.Errorf("AUTH_RESPONSE\n got %x\nwant %x", b, want)
	}

	payload := auth.ProxyExecute("alice")
	if len(payload) != 1 || string(payload[auth.ProxyExecuteKey]) != "alice" || auth.ProxyExecuteKey != "ProxyExecute" {
		t.Fatalf("payload = %q", payload)
	}
	b, err = frame.AppendEnvelope(nil, &frame.Envelope{Version: frame.V4, Stream: 2, CustomPayload: payload, Message: &frame.Options{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// header: flags 0x04 (custom payload), opcode OPTIONS (0x05), length 25;
	// body: [bytes map] of one entry: [string] "ProxyExecute" -> [bytes] "alice".
	want := unhex(t, "04 04 0002 05 00000019  0001 000c 50726f78794578656375746500000005 616c696365")
	if !bytes.Equal(b, want) {
		t.Errorf("envelope with ProxyExecute\n got %x\nwant %x", b, want)
	}

	m := auth.AddProxyExecute(map[string][]byte{"other": {1}}, "bob")
	if len(m) != 2 || string(m["ProxyExecute"]) != "bob" || m["other"][0] != 1 {
		t.Errorf("AddProxyExecute = %q", m)
	}
	if m := auth.AddProxyExecute(nil, "carol"); string(m["ProxyExecute"]) != "carol" {
		t.Errorf("AddProxyExecute(nil) = %q", m)
	}
}
