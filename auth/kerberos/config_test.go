package kerberos_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/auth/kerberos"
)

func TestGSSAPIConfigErrors(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(conf, []byte("[libdefaults]\n default_realm = EXAMPLE.TEST\n[realms]\n EXAMPLE.TEST = {\n  kdc = 127.0.0.1:1\n }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noRealm := filepath.Join(dir, "norealm.conf")
	if err := os.WriteFile(noRealm, []byte("[libdefaults]\n dns_lookup_kdc = false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(dir, "no-such-ccache"))
	for _, tc := range []struct {
		name string
		cfg  kerberos.Config
		want string
	}{
		{"two sources", kerberos.Config{Principal: "a", Password: "p", KeytabFile: "/k", Krb5ConfigFile: conf}, "only one of Password, KeytabFile and CCacheFile"},
		{"no krb5.conf", kerberos.Config{Principal: "a", Password: "p", Krb5ConfigFile: filepath.Join(dir, "missing.conf")}, "reading krb5.conf " + filepath.Join(dir, "missing.conf")},
		{"password without principal", kerberos.Config{Password: "p", Krb5ConfigFile: conf}, "needs Principal"},
		{"no realm", kerberos.Config{Principal: "a", Password: "p", Krb5ConfigFile: noRealm}, "needs a name and a realm"},
		{"missing keytab", kerberos.Config{KeytabFile: filepath.Join(dir, "none.keytab"), Krb5ConfigFile: conf}, "reading keytab"},
		{"keyring ccache", kerberos.Config{CCacheFile: "KEYRING:persistent:0", Krb5ConfigFile: conf}, "only FILE caches are supported"},
		{"default ccache missing", kerberos.Config{Krb5ConfigFile: conf}, "reading ticket cache " + filepath.Join(dir, "no-such-ccache") + " (run kinit"},
		{"service name", kerberos.Config{Principal: "a", Password: "p", Krb5ConfigFile: conf, ServiceName: "dse/x"}, "must not contain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kerberos.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}

	// Principal without realm takes krb5.conf's default realm; KRB5_CONFIG
	// may list several files.
	t.Setenv("KRB5_CONFIG", filepath.Join(dir, "absent.conf")+":"+conf)
	g, err := kerberos.New(kerberos.Config{Principal: "alice", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Principal() != "alice@EXAMPLE.TEST" {
		t.Errorf("principal %q", g.Principal())
	}
	if s := g.String(); s != "GSSAPI(alice@EXAMPLE.TEST, password, service dse)" {
		t.Errorf("String() = %q", s)
	}
	// The allow-list applies before any KDC traffic.
	g2, err := kerberos.New(kerberos.Config{Principal: "alice", Password: "p", AllowedAuthenticators: []string{auth.DSEAuthenticator}})
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Close()
	if _, _, err := g2.Start(t.Context(), auth.ServerInfo{Authenticator: auth.PasswordAuthenticator, Host: "h"}); err == nil || !strings.Contains(err.Error(), "not one of") {
		t.Errorf("allow-list: %v", err)
	}
	// Closed: Start fails.
	g.Close()
	if _, _, err := g.Start(t.Context(), auth.ServerInfo{Host: "h"}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("after Close: %v", err)
	}
}
