package kerberos_test

// Kerberos logins against a real MIT KDC (internal/krbtest starts one per
// test). Apache Cassandra has no Kerberos authenticator, so the server side
// is krbtest's in-process acceptor, which validates the AP-REQ with the
// service keytab (gokrb5's service side) and runs the RFC 4752 exchange;
// client and acceptor are connected directly, token by token.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/auth/kerberos"
	"github.com/cqlwire/cqlwire/internal/krbtest"
)

// kerberosAuthenticator is a class name a third-party Kerberos plugin could announce.
const kerberosAuthenticator = "com.example.cassandra.KerberosAuthenticator"

// login runs a whole exchange between the client and a fresh acceptor
// session, and returns the session and the tokens sent each way.
func login(t *testing.T, a auth.Authenticator, acc *krbtest.Acceptor, server auth.ServerInfo) (*krbtest.Session, [][]byte, error) {
	t.Helper()
	sess := acc.NewSession()
	tokens, err := loginWith(t, a, sess, server)
	return sess, tokens, err
}

// saslServer is the server side of internal/testserver's SASLServer.
type saslServer interface {
	Step(token []byte) (challenge []byte, done bool, success []byte, err error)
}

func loginWith(t *testing.T, a auth.Authenticator, sess saslServer, server auth.ServerInfo) ([][]byte, error) {
	t.Helper()
	ctx := context.Background()
	x, tok, err := a.Start(ctx, server)
	if err != nil {
		return nil, err
	}
	tokens := [][]byte{tok}
	for i := 0; i < 10; i++ {
		challenge, done, success, err := sess.Step(tok)
		if err != nil {
			return tokens, fmt.Errorf("server: %w", err)
		}
		tokens = append(tokens, challenge)
		if done {
			return tokens, x.Success(success)
		}
		if tok, err = x.Challenge(ctx, challenge); err != nil {
			return tokens, err
		}
		tokens = append(tokens, tok)
	}
	return tokens, errors.New("exchange did not end after 10 rounds")
}

func newGSSAPI(t *testing.T, cfg kerberos.Config) *kerberos.GSSAPI {
	t.Helper()
	g, err := kerberos.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func acceptor(t *testing.T, kdc *krbtest.KDC) *krbtest.Acceptor {
	t.Helper()
	acc, err := krbtest.LoadAcceptor(kdc.ServiceKeytab, kdc.ServicePrincipal)
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

var localhost = auth.ServerInfo{Authenticator: kerberosAuthenticator, Host: "localhost"}

func TestGSSAPIWithKDC(t *testing.T) {
	kdc := krbtest.Start(t)
	t.Logf("KDC up at %s in %v", kdc.Addr, kdc.StartupTime)

	t.Run("keytab", func(t *testing.T) {
		g := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		if g.Principal() != kdc.KeytabUser {
			t.Errorf("principal from keytab = %q, want %q", g.Principal(), kdc.KeytabUser)
		}
		sess, tokens, err := login(t, g, acceptor(t, kdc), localhost)
		if err != nil {
			t.Fatal(err)
		}
		if user, role := sess.Identity(); user != kdc.KeytabUser || role != kdc.KeytabUser {
			t.Errorf("identity = %q, %q", user, role)
		}
		if !sess.Mutual() || sess.GSSFlags() != 0x32 {
			t.Errorf("mutual %v, GSS flags %#x, want mutual with flags 0x32 (mutual|conf|integ)", sess.Mutual(), sess.GSSFlags())
		}
		if layer, max := sess.Chosen(); layer != 1 || max != 0 {
			t.Errorf("chosen layer %#x max %d, want 0x01 and 0", layer, max)
		}
		// AP-REQ, AP-REP, empty, layer challenge, layer response, success.
		if len(tokens) != 6 {
			t.Fatalf("%d tokens, want 6", len(tokens))
		}
		checkAPReq(t, tokens[0])
		if tokens[1][0] != 0x60 || len(tokens[2]) != 0 || tokens[2] == nil {
			t.Errorf("AP-REP %x..., answer %x (nil %v): want a context token, then an empty non-null token", tokens[1][:2], tokens[2], tokens[2] == nil)
		}
		checkLayerResponse(t, tokens[4], 0x04, "")
	})

	t.Run("password", func(t *testing.T) {
		g := newGSSAPI(t, kerberos.Config{Principal: "alice", Password: auth.Secret(kdc.UserPassword), Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		sess, _, err := login(t, g, acceptor(t, kdc), localhost)
		if err != nil {
			t.Fatal(err)
		}
		if user, _ := sess.Identity(); user != kdc.User {
			t.Errorf("user = %q, want %q", user, kdc.User)
		}
		// A second login reuses the tickets.
		if _, _, err := login(t, g, acceptor(t, kdc), localhost); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ccache", func(t *testing.T) {
		cc := kdc.KinitPassword(t, "alice", kdc.UserPassword, "")
		g := newGSSAPI(t, kerberos.Config{CCacheFile: "FILE:" + cc, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		if g.Principal() != kdc.User {
			t.Errorf("principal = %q", g.Principal())
		}
		sess, _, err := login(t, g, acceptor(t, kdc), localhost)
		if err != nil {
			t.Fatal(err)
		}
		if user, _ := sess.Identity(); user != kdc.User {
			t.Errorf("user = %q", user)
		}
	})

	t.Run("default ccache and KRB5_CONFIG", func(t *testing.T) {
		cc := kdc.KinitKeytab(t, "bob", kdc.KeytabUserFile, "")
		t.Setenv("KRB5CCNAME", "FILE:"+cc)
		t.Setenv("KRB5_CONFIG", kdc.Krb5Conf)
		g := newGSSAPI(t, kerberos.Config{ServiceName: "cassandra"})
		if _, _, err := login(t, g, acceptor(t, kdc), localhost); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("authorization id", func(t *testing.T) {
		g := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra", AuthorizationID: "reporting"})
		sess, tokens, err := login(t, g, acceptor(t, kdc), localhost)
		if err != nil {
			t.Fatal(err)
		}
		if user, role := sess.Identity(); user != kdc.KeytabUser || role != "reporting" || sess.AuthorizationID() != "reporting" {
			t.Errorf("identity = %q, %q", user, role)
		}
		checkLayerResponse(t, tokens[4], 0x04, "reporting")

		acc := acceptor(t, kdc)
		acc.Authorize = func(user, role string) error { return errors.New("no PROXY.LOGIN permission") }
		if _, _, err := login(t, g, acc, localhost); err == nil || !strings.Contains(err.Error(), "may not act as reporting") {
			t.Errorf("refused proxy login: err = %v", err)
		}
	})

	t.Run("DSE mechanism negotiation", func(t *testing.T) {
		g := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra", AuthorizationID: "reporting"})
		acc := acceptor(t, kdc)
		acc.DSE = true
		sess, tokens, err := login(t, g, acc, auth.ServerInfo{Authenticator: auth.DSEAuthenticator, Host: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		if string(tokens[0]) != "GSSAPI" || string(tokens[1]) != "GSSAPI-START" {
			t.Errorf("first tokens %q, %q, want \"GSSAPI\", \"GSSAPI-START\"", tokens[0], tokens[1])
		}
		checkAPReq(t, tokens[2])
		if _, role := sess.Identity(); role != "reporting" {
			t.Errorf("role = %q", role)
		}
	})

	t.Run("no mutual authentication", func(t *testing.T) {
		g := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra", DisableMutualAuth: true})
		for _, direct := range []bool{false, true} {
			acc := acceptor(t, kdc)
			acc.DirectSecurityLayer = direct
			sess, tokens, err := login(t, g, acc, localhost)
			if err != nil {
				t.Fatalf("direct=%v: %v", direct, err)
			}
			if sess.Mutual() || sess.GSSFlags() != 0x30 {
				t.Errorf("direct=%v: mutual %v flags %#x", direct, sess.Mutual(), sess.GSSFlags())
			}
			want := 6 // AP-REQ, empty, empty, layer challenge, response, success
			if direct {
				want = 4
			}
			if len(tokens) != want {
				t.Errorf("direct=%v: %d tokens, want %d", direct, len(tokens), want)
			}
			// No acceptor subkey: the client's wrap token has flags 0x00.
			checkLayerResponse(t, tokens[len(tokens)-2], 0x00, "")
		}
	})

	t.Run("no acceptor subkey", func(t *testing.T) {
		g := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		acc := acceptor(t, kdc)
		acc.NoAcceptorSubkey = true
		_, tokens, err := login(t, g, acc, localhost)
		if err != nil {
			t.Fatal(err)
		}
		checkLayerResponse(t, tokens[4], 0x00, "")
	})

	t.Run("default service name dse", func(t *testing.T) {
		kdc.AddPrincipal(t, "dse/localhost", "")
		kt := kdc.ExportKeytab(t, "dse/localhost")
		acc, err := krbtest.LoadAcceptor(kt, "dse/localhost@"+kdc.Realm)
		if err != nil {
			t.Fatal(err)
		}
		g := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf})
		if _, _, err := login(t, g, acc, localhost); err != nil {
			t.Fatal(err)
		}
		// The cassandra/localhost acceptor refuses a ticket for dse/localhost.
		if _, _, err := login(t, g, acceptor(t, kdc), localhost); err == nil || !strings.Contains(err.Error(), "this service is cassandra/localhost") {
			t.Errorf("ticket for the wrong service: err = %v", err)
		}
	})

	t.Run("MIT acceptor", func(t *testing.T) {
		// The server side on MIT's own GSS-API library (python3-gssapi):
		// what MIT accepts and sends, the client handles.
		for _, tc := range []struct {
			mutual  bool
			authzid string
			layers  byte
		}{{true, "", 1}, {true, "reporting", 7}, {false, "", 1}, {false, "reporting", 3}} {
			g := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra",
				DisableMutualAuth: !tc.mutual, AuthorizationID: tc.authzid})
			sess := kdc.StartMIT(t, kdc.ServiceKeytab, tc.layers)
			if _, err := loginWith(t, g, sess, localhost); err != nil {
				t.Fatalf("%+v: %v", tc, err)
			}
			want := kdc.KeytabUser
			if tc.authzid != "" {
				want = tc.authzid
			}
			if user, role := sess.Identity(); user != kdc.KeytabUser || role != want {
				t.Errorf("%+v: MIT saw %q acting as %q", tc, user, role)
			}
		}
		// MIT offering integrity only: the client refuses.
		g := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		if _, err := loginWith(t, g, kdc.StartMIT(t, kdc.ServiceKeytab, 2), localhost); err == nil || !strings.Contains(err.Error(), "requires a security layer") {
			t.Errorf("integrity only: %v", err)
		}
	})

	t.Run("RFC 8009 enctypes", func(t *testing.T) {
		base, err := os.ReadFile(kdc.Krb5Conf)
		if err != nil {
			t.Fatal(err)
		}
		for _, et := range []string{"aes256-cts-hmac-sha384-192", "aes128-cts-hmac-sha256-128"} {
			conf := t.TempDir() + "/krb5.conf"
			text := strings.Replace(string(base), "[libdefaults]\n", "[libdefaults]\n\tdefault_tkt_enctypes = "+et+"\n\tdefault_tgs_enctypes = "+et+"\n\tpermitted_enctypes = "+et+"\n", 1)
			if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			g := newGSSAPI(t, kerberos.Config{Principal: kdc.User, Password: auth.Secret(kdc.UserPassword), Krb5ConfigFile: conf, ServiceName: "cassandra", AuthorizationID: "r"})
			_, tokens, err := login(t, g, acceptor(t, kdc), localhost)
			if err != nil {
				t.Fatalf("%s: %v", et, err)
			}
			sum := 16 // checksum size: 128 bits for sha256-128
			if strings.Contains(et, "384") {
				sum = 24
			}
			if ec := int(tokens[4][4])<<8 | int(tokens[4][5]); ec != sum {
				t.Errorf("%s: wrap token EC %d, want %d", et, ec, sum)
			}
		}
	})

	t.Run("service host", func(t *testing.T) {
		g := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra", ServiceHost: "localhost"})
		if _, _, err := login(t, g, acceptor(t, kdc), auth.ServerInfo{Host: "10.9.8.7"}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("canonicalize host", func(t *testing.T) {
		names, err := net.LookupAddr("127.0.0.1")
		if err != nil || len(names) == 0 || strings.TrimSuffix(names[0], ".") != "localhost" {
			t.Skipf("127.0.0.1 does not reverse-resolve to localhost here (%v, %v)", names, err)
		}
		g := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra", CanonicalizeHost: true})
		if spn, _ := g.ServicePrincipal(context.Background(), "127.0.0.1"); spn != "cassandra/localhost" {
			t.Errorf("service principal = %q", spn)
		}
		if _, _, err := login(t, g, acceptor(t, kdc), auth.ServerInfo{Host: "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
		off := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		if spn, _ := off.ServicePrincipal(context.Background(), "127.0.0.1"); spn != "cassandra/127.0.0.1" {
			t.Errorf("service principal without canonicalisation = %q", spn)
		}
	})

	t.Run("concurrent logins", func(t *testing.T) {
		g := newGSSAPI(t, kerberos.Config{Principal: kdc.User, Password: auth.Secret(kdc.UserPassword), Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		acc := acceptor(t, kdc)
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := 0; i < 32; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := login(t, g, acc, localhost); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		const bad = "not-alices-password"
		g := newGSSAPI(t, kerberos.Config{Principal: "alice", Password: bad, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		_, _, err := g.Start(context.Background(), localhost)
		ke := wantKerberosError(t, err, 24, kdc.User)
		if ke.Step != "login" {
			t.Errorf("step = %q", ke.Step)
		}
		if strings.Contains(err.Error(), bad) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), bad) {
			t.Errorf("the password leaks into the error: %v", err)
		}
		// The failure is not cached: a later Start tries again (and fails again).
		_, _, err = g.Start(context.Background(), localhost)
		wantKerberosError(t, err, 24, kdc.User)
	})

	t.Run("unknown principal", func(t *testing.T) {
		g := newGSSAPI(t, kerberos.Config{Principal: "nobody@" + kdc.Realm, Password: "x", Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		_, _, err := g.Start(context.Background(), localhost)
		wantKerberosError(t, err, 6, "nobody@"+kdc.Realm)
	})

	t.Run("unknown service principal", func(t *testing.T) {
		g := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "nosuchservice"})
		_, _, err := g.Start(context.Background(), localhost)
		ke := wantKerberosError(t, err, 7, kdc.KeytabUser)
		if ke.Service != "nosuchservice/localhost" || !strings.Contains(err.Error(), "nosuchservice/localhost") {
			t.Errorf("error does not name the service principal: %v", err)
		}
	})

	t.Run("stale keytab", func(t *testing.T) {
		kdc.AddPrincipal(t, "carol", "")
		kt := kdc.ExportKeytab(t, "carol")
		kdc.RandomizeKey(t, "carol") // the keytab now holds the previous key
		g := newGSSAPI(t, kerberos.Config{KeytabFile: kt, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		_, _, err := g.Start(context.Background(), localhost)
		wantKerberosError(t, err, 24, "carol@"+kdc.Realm)
		if !strings.Contains(err.Error(), kt) || !strings.Contains(err.Error(), "stale") {
			t.Errorf("error should name the keytab and suggest a stale key: %v", err)
		}
	})

	t.Run("keytab of another principal", func(t *testing.T) {
		_, err := kerberos.New(kerberos.Config{Principal: "alice", KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf})
		if err == nil || !strings.Contains(err.Error(), "no key for "+kdc.User) || !strings.Contains(err.Error(), kdc.KeytabUser) {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("stale service keytab", func(t *testing.T) {
		kdc.AddPrincipal(t, "cassandra/stale.localhost", "")
		kt := kdc.ExportKeytab(t, "cassandra/stale.localhost")
		kdc.RandomizeKey(t, "cassandra/stale.localhost")
		acc, err := krbtest.LoadAcceptor(kt, "")
		if err != nil {
			t.Fatal(err)
		}
		g := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		_, _, err = login(t, g, acc, auth.ServerInfo{Host: "stale.localhost"})
		if err == nil || !strings.Contains(err.Error(), "AP-REQ for cassandra/stale.localhost@"+kdc.Realm+" rejected") {
			t.Errorf("err = %v", err)
		}
		t.Logf("acceptor with a stale keytab: %v", err)
	})

	t.Run("server requires a security layer", func(t *testing.T) {
		g := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		acc := acceptor(t, kdc)
		acc.Layers = 0x06
		_, _, err := login(t, g, acc, localhost)
		var ke *kerberos.Error
		if !errors.As(err, &ke) || !strings.Contains(err.Error(), "requires a security layer") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("expired tickets", func(t *testing.T) {
		// A ticket cache whose TGT lives one second (kinit -l 1s), and a
		// principal whose tickets live two seconds (kadmin -maxlife).
		cc := kdc.KinitPassword(t, "alice", kdc.UserPassword, "1s")
		kdc.AddPrincipal(t, "shortlived", "short-Pa55", "-maxlife", "2 seconds")
		short := newGSSAPI(t, kerberos.Config{Principal: "shortlived", Password: "short-Pa55", Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		x, apreq, err := short.Start(context.Background(), localhost)
		if err != nil {
			t.Fatal(err)
		}
		_ = x
		start := time.Now()
		g := newGSSAPI(t, kerberos.Config{CCacheFile: cc, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		// Kerberos times have a resolution of one second.
		time.Sleep(3*time.Second - time.Since(start))

		_, _, err = g.Start(context.Background(), localhost)
		ke := wantKerberosError(t, err, 32, kdc.User)
		if !strings.Contains(err.Error(), "expired at") || !strings.Contains(err.Error(), cc) {
			t.Errorf("error should say when the ticket in which cache expired: %v", err)
		}
		_ = ke

		// The acceptor refuses the expired service ticket (with a clock
		// skew allowance below the time waited: RFC 4120 tolerates the
		// skew on expiry checks too).
		acc := acceptor(t, kdc)
		acc.MaxClockSkew = 500 * time.Millisecond
		_, _, _, err = acc.NewSession().Step(apreq)
		if err == nil || !strings.Contains(err.Error(), "KRB_AP_ERR_TKT_EXPIRED") {
			t.Errorf("expired service ticket: err = %v", err)
		}
		t.Logf("acceptor: %v", err)

		// A new kinit into the same cache is picked up without a new GSSAPI.
		fresh := kdc.KinitPassword(t, "alice", kdc.UserPassword, "")
		b, err := os.ReadFile(fresh)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cc, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := login(t, g, acceptor(t, kdc), localhost); err != nil {
			t.Errorf("after kinit: %v", err)
		}
	})

	t.Run("secrets never printed", func(t *testing.T) {
		const pw = "Sup3r-Secret-Pa55"
		cfg := kerberos.Config{Principal: "alice", Password: pw, Krb5ConfigFile: kdc.Krb5Conf}
		g := newGSSAPI(t, cfg)
		for _, v := range []any{cfg, &cfg, g, *g} {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
				if s := fmt.Sprintf(verb, v); strings.Contains(s, pw) || strings.Contains(s, fmt.Sprintf("%x", pw)) || strings.Contains(s, fmt.Sprintf("%X", pw)) {
					t.Errorf("%s of %T shows the password: %s", verb, v, s)
				}
			}
		}
	})
}

// TestGSSAPIContextCancel: a KDC that never answers must not hold Start
// past its context.
func TestGSSAPIContextCancel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // hold it open, answer nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	conf := t.TempDir() + "/krb5.conf"
	text := fmt.Sprintf("[libdefaults]\n default_realm = SILENT.TEST\n udp_preference_limit = 1\n[realms]\n SILENT.TEST = {\n  kdc = %s\n }\n", l.Addr())
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	g := newGSSAPI(t, kerberos.Config{Principal: "alice", Password: "pw", Krb5ConfigFile: conf})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, _, err = g.Start(ctx, localhost)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("Start returned after %v", d)
	}
}

func wantKerberosError(t *testing.T, err error, code int32, principal string) *kerberos.Error {
	t.Helper()
	var ke *kerberos.Error
	if !errors.As(err, &ke) {
		t.Fatalf("err = %v (%T), want a *kerberos.Error", err, err)
	}
	if ke.Code != code {
		t.Errorf("code = %d (%s), want %d: %v", ke.Code, ke.Name, code, err)
	}
	if ke.Principal != principal || !strings.Contains(err.Error(), principal) {
		t.Errorf("error does not name %s: %v", principal, err)
	}
	t.Logf("%v", err)
	return ke
}

// checkAPReq checks the GSS-API framing of the initial context token.
func checkAPReq(t *testing.T, tok []byte) {
	t.Helper()
	oid := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}
	if len(tok) < 20 || tok[0] != 0x60 {
		t.Fatalf("initial token %x... is not a GSS-API token", tok[:min(len(tok), 8)])
	}
	hdr := 2
	if tok[1] >= 0x80 {
		hdr += int(tok[1] & 0x7f)
	}
	body := tok[hdr:]
	if string(body[:len(oid)]) != string(oid) || body[len(oid)] != 0x01 || body[len(oid)+1] != 0x00 || body[len(oid)+2] != 0x6e {
		t.Errorf("initial token body %x..., want the Kerberos OID, 01 00 and an [APPLICATION 14] AP-REQ", body[:min(len(body), 16)])
	}
}

// checkLayerResponse checks the client's wrap token: header fields and the
// payload 01 00 00 00 authzid in the clear (no confidentiality).
func checkLayerResponse(t *testing.T, tok []byte, flags byte, authzid string) {
	t.Helper()
	if len(tok) < 16+4+12 {
		t.Fatalf("layer response %x is too short", tok)
	}
	if tok[0] != 0x05 || tok[1] != 0x04 || tok[2] != flags || tok[3] != 0xff || tok[4] != 0 || tok[5] != 12 || tok[6] != 0 || tok[7] != 0 {
		t.Errorf("wrap token header %x, want 05 04 %02x ff 00 0c 00 00 <seq>", tok[:16], flags)
	}
	want := append([]byte{1, 0, 0, 0}, authzid...)
	if got := tok[16 : len(tok)-12]; string(got) != string(want) {
		t.Errorf("wrap token payload %x, want %x", got, want)
	}
}
