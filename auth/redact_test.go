package auth_test

import (
	"fmt"
	"testing"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/internal/redact/redacttest"
)

const redactPassword = "Plain-Pa55w0rd-5e6f"

// Every authenticator and configuration of this package. (auth/kerberos
// checks its own.)
func TestAuthenticatorsNeverPrintCredentials(t *testing.T) {
	plain := auth.Plain{Username: "app", Password: redactPassword, AuthorizationID: "bob"}
	for _, v := range []any{plain, &plain, auth.Secret(redactPassword)} {
		redacttest.Check(t, v, redactPassword)
	}

	for _, tc := range []struct{ got, want string }{
		{fmt.Sprintf("%#v", plain), `auth.Plain{Username:"app", Password:auth.Secret("[redacted]"), AuthorizationID:"bob"}`},
		{fmt.Sprintf("%q", plain), `"PLAIN(app as bob)"`},
		{auth.Describe(plain), "PLAIN(app as bob)"},
		{auth.Describe(&plain), "PLAIN(app as bob)"},
		{auth.Describe((*auth.Plain)(nil)), "*auth.Plain"},
		{auth.Describe(otherAuth{}), "auth_test.otherAuth"},
		{auth.Describe(nil), ""},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %s\nwant %s", tc.got, tc.want)
		}
	}
	for _, v := range []any{auth.Plain{}, (*auth.Plain)(nil)} {
		redacttest.CheckPrints(t, v)
	}
}

// otherAuth is an authenticator of another package: Describe shows only its type.
type otherAuth struct{ auth.Plain }
