package testenv

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Env is the configuration of the Cassandra node(s) that integration tests use.
type Env struct {
	Hosts    []string // addresses, without port; at least one
	Port     int      // native protocol port
	Username string
	Password string

	TLSCA         string // CA file (PEM); empty: TLS cannot be tested
	TLSCert       string // client certificate file (PEM); empty: no mutual TLS
	TLSKey        string // client key file (PEM)
	TLSClientAuth bool   // the nodes require a client certificate on TLS connections

	DC string // data centre of the nodes

	// Source says where the settings came from: "environment" or the env.mk file path.
	Source string
}

// Addrs returns host:port for every host.
func (e Env) Addrs() []string {
	out := make([]string, len(e.Hosts))
	for i, h := range e.Hosts {
		out[i] = net.JoinHostPort(h, strconv.Itoa(e.Port))
	}
	return out
}

// HasTLS reports whether a CA is configured, i.e. whether TLS tests can run.
func (e Env) HasTLS() bool { return e.TLSCA != "" }

// HasClientCert reports whether a client certificate and key are configured.
func (e Env) HasClientCert() bool { return e.TLSCert != "" && e.TLSKey != "" }

// TLSConfig returns a client configuration that trusts TLSCA, verifies the server as
// serverName (a host name or an IP address from Hosts) and, when configured, presents
// the client certificate.
func (e Env) TLSConfig(serverName string) (*tls.Config, error) {
	if e.TLSCA == "" {
		return nil, errors.New("testenv: CQLWIRE_TLS_CA is not set")
	}
	pem, err := os.ReadFile(e.TLSCA)
	if err != nil {
		return nil, fmt.Errorf("testenv: CQLWIRE_TLS_CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("testenv: CQLWIRE_TLS_CA: no certificate in %s", e.TLSCA)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if e.HasClientCert() {
		cert, err := tls.LoadX509KeyPair(e.TLSCert, e.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("testenv: CQLWIRE_TLS_CERT/KEY: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Required reports whether CQLWIRE_REQUIRE_CASSANDRA asks for a failure instead of a skip.
func Required() bool { return isTrue(os.Getenv("CQLWIRE_REQUIRE_CASSANDRA")) }

func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// Lookup reads the settings from the environment, falling back, when CQLWIRE_HOSTS is
// unset, to the env.mk file that devcluster/cluster.sh keeps while its nodes run.
// It returns ErrNotConfigured when no host is known.
func Lookup() (Env, error) {
	return lookup(os.Getenv, os.Getwd)
}

// ErrNotConfigured means neither CQLWIRE_HOSTS nor a devcluster env.mk names a node.
var ErrNotConfigured = errors.New("no Cassandra node configured (CQLWIRE_HOSTS is not set and no devcluster env.mk was found)")

func lookup(getenv func(string) string, getwd func() (string, error)) (Env, error) {
	source := "environment"
	get := getenv
	if strings.TrimSpace(getenv("CQLWIRE_HOSTS")) == "" {
		if file := findEnvFile(getenv, getwd); file != "" {
			vals, err := readEnvMk(file)
			if err != nil {
				return Env{}, err
			}
			source = file
			get = func(k string) string {
				if v := getenv(k); v != "" {
					return v
				}
				return vals[k]
			}
		}
	}
	env, err := parse(get)
	env.Source = source
	return env, err
}

func parse(get func(string) string) (Env, error) {
	env := Env{
		Port:          9042,
		Username:      or(get("CQLWIRE_USERNAME"), "cassandra"),
		Password:      or(get("CQLWIRE_PASSWORD"), "cassandra"),
		TLSCA:         get("CQLWIRE_TLS_CA"),
		TLSCert:       get("CQLWIRE_TLS_CERT"),
		TLSKey:        get("CQLWIRE_TLS_KEY"),
		TLSClientAuth: isTrue(get("CQLWIRE_TLS_CLIENT_AUTH")),
		DC:            or(get("CQLWIRE_DC"), "datacenter1"),
	}
	for h := range strings.SplitSeq(get("CQLWIRE_HOSTS"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			env.Hosts = append(env.Hosts, h)
		}
	}
	if p := strings.TrimSpace(get("CQLWIRE_PORT")); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return env, fmt.Errorf("CQLWIRE_PORT=%q is not a port number", p)
		}
		env.Port = n
	}
	if (env.TLSCert == "") != (env.TLSKey == "") {
		return env, errors.New("CQLWIRE_TLS_CERT and CQLWIRE_TLS_KEY must be set together")
	}
	if len(env.Hosts) == 0 {
		return env, ErrNotConfigured
	}
	return env, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// findEnvFile returns $CQLWIRE_RUN_DIR/env.mk if that is set, else the first
// .cache/devcluster/env.mk in the working directory or one of its parents; "" if none exists.
func findEnvFile(getenv func(string) string, getwd func() (string, error)) string {
	if dir := getenv("CQLWIRE_RUN_DIR"); dir != "" {
		f := filepath.Join(dir, "env.mk")
		if fileExists(f) {
			return f
		}
		return ""
	}
	dir, err := getwd()
	if err != nil {
		return ""
	}
	for {
		f := filepath.Join(dir, ".cache", "devcluster", "env.mk")
		if fileExists(f) {
			return f
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func fileExists(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

// readEnvMk parses the "export NAME ?= value" lines of an env.mk file (":=" and "=" work too).
func readEnvMk(name string) (map[string]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.TrimRight(strings.TrimSpace(k), "?:")
		vals[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("testenv: reading %s: %w", name, err)
	}
	return vals, nil
}

// DialTimeout bounds each reachability probe of Require.
const DialTimeout = 2 * time.Second

type verdict int

const (
	verdictOK verdict = iota
	verdictSkip
	verdictFail
)

const howTo = "start a local node with `make cassandra` (then run tests through make, or export " +
	"the output of `make cassandra-env`), or point CQLWIRE_HOSTS, CQLWIRE_PORT, CQLWIRE_USERNAME, " +
	"CQLWIRE_PASSWORD (and CQLWIRE_TLS_CA, CQLWIRE_TLS_CERT, CQLWIRE_TLS_KEY) at a Cassandra 5.0 node"

// decide is Require's logic without the testing.TB: what to do, and the message.
// dial reports whether one address accepts a TCP connection.
func decide(env Env, err error, required bool, dial func(addr string) error) (verdict, string) {
	notReady := verdictSkip
	suffix := " (set CQLWIRE_REQUIRE_CASSANDRA=1 to fail instead of skipping)"
	if required {
		notReady = verdictFail
		suffix = " (CQLWIRE_REQUIRE_CASSANDRA is set, so this is a failure)"
	}
	switch {
	case errors.Is(err, ErrNotConfigured):
		return notReady, "testenv: " + err.Error() + "; " + howTo + suffix
	case err != nil:
		// A malformed setting is a mistake to fix, never a reason to skip.
		return verdictFail, "testenv: bad Cassandra settings (from " + env.Source + "): " + err.Error()
	}
	var failures []string
	for _, addr := range env.Addrs() {
		derr := dial(addr)
		if derr == nil {
			return verdictOK, ""
		}
		failures = append(failures, derr.Error())
	}
	return notReady, fmt.Sprintf("testenv: no Cassandra node reachable at %s (settings from %s: %s); %s%s",
		strings.Join(env.Addrs(), ", "), env.Source, strings.Join(failures, "; "), howTo, suffix)
}

func tcpDial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, DialTimeout)
	if err != nil {
		return err
	}
	return c.Close()
}

// Require returns the node settings if at least one configured node accepts a TCP
// connection on its native port. Otherwise it skips the test with a message that says
// how to start a node, or fails it when CQLWIRE_REQUIRE_CASSANDRA=1 (as CI sets).
// Malformed settings (a bad CQLWIRE_PORT, a certificate without its key) always fail.
func Require(t testing.TB) Env {
	t.Helper()
	env, err := Lookup()
	v, msg := decide(env, err, Required(), tcpDial)
	switch v {
	case verdictSkip:
		t.Skip(msg)
	case verdictFail:
		t.Fatal(msg)
	}
	return env
}
