package auth_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/auth"
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
		cfg  auth.GSSAPIConfig
		want string
	}{
		{"two sources", auth.GSSAPIConfig{Principal: "a", Password: "p", KeytabFile: "/k", Krb5ConfigFile: conf}, "only one of Password, KeytabFile and CCacheFile"},
		{"no krb5.conf", auth.GSSAPIConfig{Principal: "a", Password: "p", Krb5ConfigFile: filepath.Join(dir, "missing.conf")}, "reading krb5.conf " + filepath.Join(dir, "missing.conf")},
		{"password without principal", auth.GSSAPIConfig{Password: "p", Krb5ConfigFile: conf}, "needs Principal"},
		{"no realm", auth.GSSAPIConfig{Principal: "a", Password: "p", Krb5ConfigFile: noRealm}, "needs a name and a realm"},
		{"missing keytab", auth.GSSAPIConfig{KeytabFile: filepath.Join(dir, "none.keytab"), Krb5ConfigFile: conf}, "reading keytab"},
		{"keyring ccache", auth.GSSAPIConfig{CCacheFile: "KEYRING:persistent:0", Krb5ConfigFile: conf}, "only FILE caches are supported"},
		{"default ccache missing", auth.GSSAPIConfig{Krb5ConfigFile: conf}, "reading ticket cache " + filepath.Join(dir, "no-such-ccache") + " (run kinit"},
		{"service name", auth.GSSAPIConfig{Principal: "a", Password: "p", Krb5ConfigFile: conf, ServiceName: "dse/x"}, "must not contain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auth.NewGSSAPI(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}

	// Principal without realm takes krb5.conf's default realm; KRB5_CONFIG
	// may list several files.
	t.Setenv("KRB5_CONFIG", filepath.Join(dir, "absent.conf")+":"+conf)
	g, err := auth.NewGSSAPI(auth.GSSAPIConfig{Principal: "alice", Password: "p"})
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
	g2, err := auth.NewGSSAPI(auth.GSSAPIConfig{Principal: "alice", Password: "p", AllowedAuthenticators: []string{auth.DSEAuthenticator}})
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
