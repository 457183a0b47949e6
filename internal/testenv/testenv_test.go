package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// closedPort returns a loopback port that nothing listens on (it was just closed).
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func noWd() (string, error) { return "", errors.New("no working directory in this test") }

func TestParse(t *testing.T) {
	env, err := lookup(mapEnv(map[string]string{
		"CQLWIRE_HOSTS":    " 127.0.0.1, 127.0.0.2 ,,127.0.0.3",
		"CQLWIRE_PORT":     "19042",
		"CQLWIRE_USERNAME": "u",
		"CQLWIRE_TLS_CA":   "/ca.pem",
	}), noWd)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.1:19042", "127.0.0.2:19042", "127.0.0.3:19042"}
	if got := env.Addrs(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Addrs() = %v, want %v", got, want)
	}
	if env.Username != "u" || env.Password != "cassandra" || env.DC != "datacenter1" {
		t.Errorf("defaults: got %+v", env)
	}
	if !env.HasTLS() || env.HasClientCert() || env.TLSClientAuth || env.Source != "environment" {
		t.Errorf("TLS fields: got %+v", env)
	}
	if got := mapEnv(nil)("x"); got != "" {
		t.Fatal(got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"no hosts", map[string]string{}, "no Cassandra node configured"},
		{"bad port", map[string]string{"CQLWIRE_HOSTS": "h", "CQLWIRE_PORT": "90x"}, "not a port number"},
		{"port range", map[string]string{"CQLWIRE_HOSTS": "h", "CQLWIRE_PORT": "70000"}, "not a port number"},
		{"cert without key", map[string]string{"CQLWIRE_HOSTS": "h", "CQLWIRE_TLS_CERT": "c.pem"}, "set together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := lookup(mapEnv(tc.vars), noWd)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	port := closedPort(t)
	closed := Env{Hosts: []string{"127.0.0.1"}, Port: port, Source: "environment"}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	open := Env{Hosts: []string{"127.0.0.1"}, Port: ln.Addr().(*net.TCPAddr).Port, Source: "environment"}
	// A cluster whose first node is down but whose second answers is usable.
	mixed := Env{Hosts: []string{"127.0.0.1", "127.0.0.1"}, Port: port}
	mixedDial := func(n *int) func(string) error {
		return func(addr string) error {
			*n++
			if *n == 1 {
				return errors.New("refused")
			}
			return nil
		}
	}

	for _, tc := range []struct {
		name     string
		env      Env
		err      error
		required bool
		dial     func(string) error
		want     verdict
		msg      []string
	}{
		{"closed port skips", closed, nil, false, tcpDial, verdictSkip,
			[]string{"no Cassandra node reachable", "127.0.0.1:" + strconv.Itoa(port), "make cassandra", "CQLWIRE_HOSTS", "CQLWIRE_REQUIRE_CASSANDRA=1"}},
		{"closed port fails when required", closed, nil, true, tcpDial, verdictFail,
			[]string{"no Cassandra node reachable", "make cassandra", "is set, so this is a failure"}},
		{"listening port passes", open, nil, true, tcpDial, verdictOK, nil},
		{"one of two nodes up passes", mixed, nil, true, mixedDial(new(int)), verdictOK, nil},
		{"not configured skips", Env{}, ErrNotConfigured, false, tcpDial, verdictSkip,
			[]string{"CQLWIRE_HOSTS is not set", "make cassandra"}},
		{"not configured fails when required", Env{}, ErrNotConfigured, true, tcpDial, verdictFail,
			[]string{"CQLWIRE_HOSTS is not set"}},
		{"bad settings always fail", Env{Source: "environment"}, errors.New("CQLWIRE_PORT=\"x\" is not a port number"), false, tcpDial, verdictFail,
			[]string{"bad Cassandra settings", "CQLWIRE_PORT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, msg := decide(tc.env, tc.err, tc.required, tc.dial)
			if got != tc.want {
				t.Fatalf("verdict = %d, want %d (message %q)", got, tc.want, msg)
			}
			for _, s := range tc.msg {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not mention %q", msg, s)
				}
			}
		})
	}
}

// fakeTB records what Require asks of a test, without stopping the goroutine as a
// real Skip or Fatal would. Methods it does not override panic (nil embedded TB).
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Skip(args ...any) { f.skipped, f.msg = true, fmt.Sprint(args...) }

func (f *fakeTB) Fatal(args ...any) { f.failed, f.msg = true, fmt.Sprint(args...) }

// TestRequire runs Require itself against a closed port, with and without
// CQLWIRE_REQUIRE_CASSANDRA, through a fake testing.TB.
func TestRequire(t *testing.T) {
	port := closedPort(t)
	t.Setenv("CQLWIRE_HOSTS", "127.0.0.1")
	t.Setenv("CQLWIRE_PORT", strconv.Itoa(port))
	for _, k := range []string{"CQLWIRE_USERNAME", "CQLWIRE_PASSWORD", "CQLWIRE_TLS_CA", "CQLWIRE_TLS_CERT", "CQLWIRE_TLS_KEY"} {
		t.Setenv(k, "")
	}

	t.Setenv("CQLWIRE_REQUIRE_CASSANDRA", "")
	f := &fakeTB{}
	Require(f)
	if !f.skipped || f.failed || !strings.Contains(f.msg, "make cassandra") {
		t.Errorf("without CQLWIRE_REQUIRE_CASSANDRA: skipped=%v failed=%v msg=%q", f.skipped, f.failed, f.msg)
	}

	t.Setenv("CQLWIRE_REQUIRE_CASSANDRA", "1")
	f = &fakeTB{}
	Require(f)
	if f.skipped || !f.failed || !strings.Contains(f.msg, "CQLWIRE_REQUIRE_CASSANDRA") {
		t.Errorf("with CQLWIRE_REQUIRE_CASSANDRA=1: skipped=%v failed=%v msg=%q", f.skipped, f.failed, f.msg)
	}
}

func TestEnvFile(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, ".cache", "devcluster")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	content := "# written by devcluster/cluster.sh start\n" +
		"export CQLWIRE_HOSTS ?= 127.0.0.1,127.0.0.2\n" +
		"export CQLWIRE_PORT := 9042\n" +
		"export CQLWIRE_TLS_CA ?= /some dir/ca.pem\n" +
		"export CQLWIRE_TLS_CLIENT_AUTH=true\n"
	if err := os.WriteFile(filepath.Join(dir, "env.mk"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "conn", "deep")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	wd := func() (string, error) { return sub, nil }

	// Found by walking up from the working directory; the environment still wins.
	env, err := lookup(mapEnv(map[string]string{"CQLWIRE_USERNAME": "me"}), wd)
	if err != nil {
		t.Fatal(err)
	}
	if len(env.Hosts) != 2 || env.TLSCA != "/some dir/ca.pem" || !env.TLSClientAuth || env.Username != "me" ||
		env.Source != filepath.Join(dir, "env.mk") {
		t.Errorf("from env.mk: got %+v", env)
	}
	// Found through CQLWIRE_RUN_DIR.
	env, err = lookup(mapEnv(map[string]string{"CQLWIRE_RUN_DIR": dir}), noWd)
	if err != nil || len(env.Hosts) != 2 {
		t.Errorf("via CQLWIRE_RUN_DIR: %+v, %v", env, err)
	}
	// CQLWIRE_HOSTS set: the file is not read at all.
	env, err = lookup(mapEnv(map[string]string{"CQLWIRE_HOSTS": "10.0.0.9"}), wd)
	if err != nil || env.Source != "environment" || env.TLSCA != "" {
		t.Errorf("with CQLWIRE_HOSTS: %+v, %v", env, err)
	}
	// A run dir without env.mk (no node running): not configured.
	_, err = lookup(mapEnv(map[string]string{"CQLWIRE_RUN_DIR": t.TempDir()}), noWd)
	if !errors.Is(err, ErrNotConfigured) {
		t.Errorf("empty run dir: err = %v", err)
	}
}

func TestTLSConfig(t *testing.T) {
	if _, err := (Env{}).TLSConfig("127.0.0.1"); err == nil {
		t.Error("TLSConfig without a CA: no error")
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (Env{TLSCA: bad}).TLSConfig("127.0.0.1"); err == nil {
		t.Error("TLSConfig with a file that holds no certificate: no error")
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := (Env{TLSCA: ca}).TLSConfig("127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RootCAs == nil || cfg.ServerName != "127.0.0.2" || len(cfg.Certificates) != 0 || cfg.InsecureSkipVerify {
		t.Errorf("TLSConfig: got %+v", cfg)
	}
	if _, err := (Env{TLSCA: ca, TLSCert: ca, TLSKey: bad}).TLSConfig("h"); err == nil {
		t.Error("TLSConfig with an unreadable key pair: no error")
	}
}

// TestNode checks the configured node itself, when there is one: a TCP connection and,
// when a CA is configured, a verified TLS handshake (with the client certificate when
// one is configured) on the same native port. Without a node it skips, or fails under
// CQLWIRE_REQUIRE_CASSANDRA=1.
func TestNode(t *testing.T) {
	env := Require(t)
	if !env.HasTLS() {
		t.Skip("CQLWIRE_TLS_CA is not set: TLS not checked")
	}
	for i, addr := range env.Addrs() {
		cfg, err := env.TLSConfig(env.Hosts[i])
		if err != nil {
			t.Fatal(err)
		}
		d := &net.Dialer{Timeout: DialTimeout}
		conn, err := tls.DialWithDialer(d, "tcp", addr, cfg)
		if err != nil {
			t.Errorf("TLS handshake with %s: %v", addr, err)
			continue
		}
		st := conn.ConnectionState()
		t.Logf("%s: TLS 0x%04x, server certificate %q", addr, st.Version, st.PeerCertificates[0].Subject)
		conn.Close()
	}
}
