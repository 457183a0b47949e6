package auth_test

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/internal/redact/redacttest"
)

const redactPassword = "Krb-Pa55w0rd-5e6f"

// Every authenticator and configuration of this package, with each kind of
// credential: a password, a keytab's keys.
func TestAuthenticatorsNeverPrintCredentials(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(conf, []byte("[libdefaults]\n default_realm = EXAMPLE.TEST\n[realms]\n EXAMPLE.TEST = {\n  kdc = 127.0.0.1:1\n }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kt := keytab.New()
	if err := kt.AddEntry("svc", "EXAMPLE.TEST", redactPassword, time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ktFile := filepath.Join(dir, "svc.keytab")
	if err := os.WriteFile(ktFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	key := hex.EncodeToString(kt.Entries[0].Key.KeyValue)
	secrets := []string{redactPassword, key, string(kt.Entries[0].Key.KeyValue)}

	pwCfg := auth.GSSAPIConfig{Principal: "alice", Password: redactPassword, Krb5ConfigFile: conf, AuthorizationID: "bob"}
	byPassword, err := auth.NewGSSAPI(pwCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer byPassword.Close()
	byKeytab, err := auth.NewGSSAPI(auth.GSSAPIConfig{KeytabFile: ktFile, Krb5ConfigFile: conf})
	if err != nil {
		t.Fatal(err)
	}
	defer byKeytab.Close()
	plain := auth.Plain{Username: "app", Password: redactPassword, AuthorizationID: "bob"}

	for _, v := range []any{plain, &plain, pwCfg, &pwCfg, byPassword, *byPassword, byKeytab, *byKeytab, auth.Secret(redactPassword)} {
		redacttest.Check(t, v, secrets...)
	}

	for _, tc := range []struct{ got, want string }{
		{fmt.Sprintf("%#v", plain), `auth.Plain{Username:"app", Password:auth.Secret("[redacted]"), AuthorizationID:"bob"}`},
		{fmt.Sprintf("%q", plain), `"PLAIN(app as bob)"`},
		{fmt.Sprintf("%v", pwCfg), "auth.GSSAPIConfig{Principal:alice Password:[redacted] Krb5ConfigFile:" + conf + " AuthorizationID:bob}"},
		{fmt.Sprintf("%v", byKeytab), "GSSAPI(svc@EXAMPLE.TEST, keytab " + ktFile + ", service dse)"},
		{auth.Describe(plain), "PLAIN(app as bob)"},
		{auth.Describe(byPassword), "GSSAPI(alice@EXAMPLE.TEST, password, service dse, as bob)"},
		{auth.Describe(otherAuth{}), "auth_test.otherAuth"},
		{auth.Describe(nil), ""},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %s\nwant %s", tc.got, tc.want)
		}
	}
	for _, v := range []any{auth.GSSAPI{}, auth.Plain{}, auth.GSSAPIConfig{}, (*auth.Plain)(nil), (*auth.GSSAPI)(nil), (*auth.GSSAPIConfig)(nil)} {
		redacttest.CheckPrints(t, v)
	}
}

// otherAuth is an authenticator of another package: Describe shows only its type.
type otherAuth struct{ auth.Plain }
