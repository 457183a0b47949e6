package kerberos_test

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
	"github.com/cqlwire/cqlwire/auth/kerberos"
	"github.com/cqlwire/cqlwire/internal/redact/redacttest"
)

const redactPassword = "Krb-Pa55w0rd-5e6f"

// The authenticator and its configuration, with each kind of credential: a
// password, a keytab's keys.
func TestNeverPrintsCredentials(t *testing.T) {
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

	pwCfg := kerberos.Config{Principal: "alice", Password: redactPassword, Krb5ConfigFile: conf, AuthorizationID: "bob"}
	byPassword, err := kerberos.New(pwCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer byPassword.Close()
	byKeytab, err := kerberos.New(kerberos.Config{KeytabFile: ktFile, Krb5ConfigFile: conf})
	if err != nil {
		t.Fatal(err)
	}
	defer byKeytab.Close()

	for _, v := range []any{pwCfg, &pwCfg, byPassword, *byPassword, byKeytab, *byKeytab} {
		redacttest.Check(t, v, secrets...)
	}

	for _, tc := range []struct{ got, want string }{
		{fmt.Sprintf("%v", pwCfg), "kerberos.Config{Principal:alice Password:[redacted] Krb5ConfigFile:" + conf + " AuthorizationID:bob}"},
		{fmt.Sprintf("%#v", pwCfg), `kerberos.Config{Principal:"alice", Password:auth.Secret("[redacted]"), Krb5ConfigFile:"` + conf + `", AuthorizationID:"bob"}`},
		{fmt.Sprintf("%v", byKeytab), "GSSAPI(svc@EXAMPLE.TEST, keytab " + ktFile + ", service dse)"},
		// auth.Describe vouches for this package's String, as for auth's own mechanisms.
		{auth.Describe(byPassword), "GSSAPI(alice@EXAMPLE.TEST, password, service dse, as bob)"},
		{auth.Describe((*kerberos.GSSAPI)(nil)), "*kerberos.GSSAPI"},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %s\nwant %s", tc.got, tc.want)
		}
	}
	for _, v := range []any{kerberos.GSSAPI{}, kerberos.Config{}, (*kerberos.GSSAPI)(nil), (*kerberos.Config)(nil)} {
		redacttest.CheckPrints(t, v)
	}
}
