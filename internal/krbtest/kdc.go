package krbtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/internal/testenv"
)

// Realm is the realm of every KDC that Start creates.
const Realm = "CQLWIRE.TEST"

// KDC is a running MIT KDC with a throw-away realm. Its files live in Dir,
// a temporary directory removed after the test.
type KDC struct {
	Realm string
	Dir   string
	// Addr is the KDC's address, 127.0.0.1:port (TCP and UDP).
	Addr string
	// Krb5Conf is the krb5.conf clients use (default realm Realm, the KDC
	// at Addr over TCP, no DNS lookups).
	Krb5Conf string
	// KDCConf is the kdc.conf of the KDC and of kadmin.local.
	KDCConf string
	// StartupTime is how long creating the realm and starting the KDC took
	// (principals excluded).
	StartupTime time.Duration

	// User and UserPassword: a principal that logs in with a password.
	User, UserPassword string
	// KeytabUser and KeytabUserFile: a principal with a random key, in a
	// keytab.
	KeytabUser, KeytabUserFile string
	// ServicePrincipal ("cassandra/localhost@CQLWIRE.TEST") and its keytab.
	ServicePrincipal, ServiceKeytab string

	t    testing.TB
	cmd  *exec.Cmd
	exit chan error
	bin  map[string]string
}

var tools = []string{"krb5kdc", "kdb5_util", "kadmin.local", "kinit"}

// lookupTools is findTools, replaced by tests.
var lookupTools = findTools

// findTools locates the MIT tools (the sbin ones may be off a user's PATH).
func findTools() (map[string]string, []string) {
	found := map[string]string{}
	var missing []string
	for _, name := range tools {
		if p, err := exec.LookPath(name); err == nil {
			found[name] = p
			continue
		}
		ok := false
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin"} {
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				found[name], ok = p, true
				break
			}
		}
		if !ok {
			missing = append(missing, name)
		}
	}
	return found, missing
}

func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// Required reports whether a missing KDC must fail the test rather than
// skip it: CQLWIRE_REQUIRE_CASSANDRA or CI is set to a true value.
func Required() bool { return testenv.Required() || isTrue(os.Getenv("CI")) }

// Available reports whether the MIT KDC tools are installed, and if not,
// which are missing.
func Available() (bool, []string) {
	_, missing := findTools()
	return len(missing) == 0, missing
}

// Start creates a realm, starts its KDC and adds the standard principals.
// It skips the test when the MIT tools are missing (fails under
// Required()), and stops the KDC when the test ends.
func Start(t testing.TB) *KDC {
	t.Helper()
	bin, missing := lookupTools()
	if len(missing) > 0 {
		msg := fmt.Sprintf("krbtest: MIT Kerberos tools not installed (%s missing): apt-get install krb5-kdc krb5-admin-server krb5-user", strings.Join(missing, ", "))
		if Required() {
			t.Fatal(msg + " (required: CQLWIRE_REQUIRE_CASSANDRA or CI is set)")
		}
		t.Skip(msg)
	}
	k := &KDC{Realm: Realm, Dir: t.TempDir(), t: t, bin: bin}
	t0 := time.Now()
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = k.start(); err == nil {
			break
		}
		var busy portBusyError
		if !errors.As(err, &busy) {
			break
		}
	}
	if err != nil {
		t.Fatalf("krbtest: %v", err)
	}
	k.StartupTime = time.Since(t0)

	k.User, k.UserPassword = "alice@"+Realm, "alice-Pa55"
	k.KeytabUser, k.KeytabUserFile = "bob@"+Realm, filepath.Join(k.Dir, "bob.keytab")
	k.ServicePrincipal, k.ServiceKeytab = "cassandra/localhost@"+Realm, filepath.Join(k.Dir, "cassandra.keytab")
	k.Kadmin(t,
		"addprinc -pw "+k.UserPassword+" alice",
		"addprinc -randkey bob",
		"ktadd -norandkey -k "+k.KeytabUserFile+" bob",
		"addprinc -randkey cassandra/localhost",
		"ktadd -norandkey -k "+k.ServiceKeytab+" cassandra/localhost",
	)
	return k
}

type portBusyError struct{ error }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	defer l.Close()
	// The KDC listens on UDP too: make sure the same port is free there.
	u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return 0, portBusyError{err}
	}
	u.Close()
	return port, nil
}

// start writes the configuration, creates the database and starts krb5kdc.
func (k *KDC) start() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	k.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	k.Krb5Conf = filepath.Join(k.Dir, "krb5.conf")
	k.KDCConf = filepath.Join(k.Dir, "kdc.conf")
	krb5conf := fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_realm = false
	dns_lookup_kdc = false
	rdns = false
	udp_preference_limit = 1
	ticket_lifetime = 10h
	renew_lifetime = 1d
	forwardable = false
	default_ccache_name = FILE:%[3]s/krb5cc_default

[realms]
	%[1]s = {
		kdc = %[2]s
	}

[domain_realm]
	localhost = %[1]s
`, k.Realm, k.Addr, k.Dir)
	kdcconf := fmt.Sprintf(`[kdcdefaults]
	kdc_listen = %[2]s
	kdc_tcp_listen = %[2]s

[realms]
	%[1]s = {
		database_name = %[3]s/principal
		key_stash_file = %[3]s/stash
		acl_file = %[3]s/kadm5.acl
		max_life = 10h
		max_renewable_life = 1d
		master_key_type = aes256-cts-hmac-sha1-96
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal
		default_principal_flags = +preauth
	}

[logging]
	kdc = FILE:%[3]s/kdc.log
	admin_server = FILE:%[3]s/kadmin.log
	default = FILE:%[3]s/krb5.log
`, k.Realm, k.Addr, k.Dir)
	for name, text := range map[string]string{k.Krb5Conf: krb5conf, k.KDCConf: kdcconf, filepath.Join(k.Dir, "kadm5.acl"): ""} {
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(k.Dir, "principal")); err != nil {
		if out, err := k.run(nil, "kdb5_util", "create", "-s", "-r", k.Realm, "-P", "cqlwire-master-key"); err != nil {
			return fmt.Errorf("kdb5_util create: %v\n%s", err, out)
		}
	}

	logBuf := new(syncBuffer)
	cmd := exec.Command(k.bin["krb5kdc"], "-n", "-r", k.Realm)
	cmd.Env = k.Env()
	cmd.Dir = k.Dir
	cmd.Stdout, cmd.Stderr = logBuf, logBuf
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting krb5kdc: %v", err)
	}
	exit := make(chan error, 1)
	go func() { exit <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", k.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exit:
			log := logBuf.String() + k.kdcLog()
			if strings.Contains(log, "Address already in use") {
				return portBusyError{fmt.Errorf("krb5kdc could not bind %s: %s", k.Addr, log)}
			}
			return fmt.Errorf("krb5kdc exited (%v) before listening on %s:\n%s", err, k.Addr, log)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exit
			return fmt.Errorf("krb5kdc not listening on %s after 10s:\n%s", k.Addr, logBuf.String()+k.kdcLog())
		}
	}
	k.cmd, k.exit = cmd, exit
	k.t.Cleanup(k.Stop)
	return nil
}

// syncBuffer collects the KDC's stdout and stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (k *KDC) kdcLog() string {
	b, _ := os.ReadFile(filepath.Join(k.Dir, "kdc.log"))
	return string(b)
}

// Log returns the KDC's log (for failing tests).
func (k *KDC) Log() string { return k.kdcLog() }

// Stop kills the KDC (by pid) and waits for it. Start registers it with
// t.Cleanup; calling it earlier is allowed.
func (k *KDC) Stop() {
	if k.cmd == nil {
		return
	}
	k.cmd.Process.Kill()
	<-k.exit
	k.cmd = nil
}

// Env is the environment of the MIT tools for this realm: KRB5_CONFIG,
// KRB5_KDC_PROFILE and a KRB5CCNAME inside Dir, on top of os.Environ.
func (k *KDC) Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KRB5") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"KRB5_CONFIG="+k.Krb5Conf,
		"KRB5_KDC_PROFILE="+k.KDCConf,
		"KRB5CCNAME=FILE:"+filepath.Join(k.Dir, "krb5cc_default"),
		"KRB5RCACHETYPE=none",
	)
}

func (k *KDC) run(stdin []byte, tool string, args ...string) ([]byte, error) {
	cmd := exec.Command(k.bin[tool], args...)
	cmd.Env = k.Env()
	cmd.Dir = k.Dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	return cmd.CombinedOutput()
}

// Kadmin runs kadmin.local queries (e.g. "addprinc -randkey x"), all in one
// kadmin.local process, and returns its output. A query that fails fails
// the test.
func (k *KDC) Kadmin(t testing.TB, queries ...string) string {
	t.Helper()
	out, err := k.run([]byte(strings.Join(queries, "\n")+"\n"), "kadmin.local", "-r", k.Realm)
	if err != nil || bytes.Contains(out, []byte("while ")) || bytes.Contains(out, []byte("Unknown request")) {
		t.Fatalf("krbtest: kadmin.local %q: %v\n%s", queries, err, out)
	}
	return string(out)
}

// AddPrincipal adds name (without realm) with password, or with a random
// key when password is empty. Extra kadmin addprinc options (e.g. "-maxlife",
// "5 seconds") come before the name. It returns name@REALM.
func (k *KDC) AddPrincipal(t testing.TB, name, password string, options ...string) string {
	t.Helper()
	q := []string{"addprinc"}
	for _, o := range options {
		q = append(q, quote(o))
	}
	if password == "" {
		q = append(q, "-randkey")
	} else {
		q = append(q, "-pw", quote(password))
	}
	q = append(q, quote(name))
	k.Kadmin(t, strings.Join(q, " "))
	return name + "@" + k.Realm
}

func quote(s string) string {
	if strings.ContainsAny(s, " \t\"'") {
		return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return s
}

// ExportKeytab writes name's current keys (unchanged: -norandkey) to a new
// keytab in Dir and returns its path.
func (k *KDC) ExportKeytab(t testing.TB, name string) string {
	t.Helper()
	f, err := os.CreateTemp(k.Dir, "keytab-"+strings.ReplaceAll(name, "/", "_")+"-*")
	if err != nil {
		t.Fatal(err)
	}
	path := f.Name()
	f.Close()
	os.Remove(path) // kadmin creates it
	k.Kadmin(t, fmt.Sprintf("ktadd -norandkey -k %s %s", path, quote(name)))
	return path
}

// RandomizeKey gives name a new random key (a new kvno): keytabs exported
// before hold a stale key.
func (k *KDC) RandomizeKey(t testing.TB, name string) {
	t.Helper()
	k.Kadmin(t, "cpw -randkey "+quote(name))
}

// KinitPassword logs name in with password into a new ticket cache in Dir
// and returns the cache's path. lifetime is kinit's -l (e.g. "1s"); empty
// means the realm's default.
func (k *KDC) KinitPassword(t testing.TB, name, password, lifetime string) string {
	t.Helper()
	return k.kinit(t, []byte(password+"\n"), lifetime, name)
}

// KinitKeytab logs name in with the keytab into a new ticket cache in Dir
// and returns the cache's path.
func (k *KDC) KinitKeytab(t testing.TB, name, keytab, lifetime string) string {
	t.Helper()
	return k.kinit(t, nil, lifetime, "-k", "-t", keytab, name)
}

func (k *KDC) kinit(t testing.TB, stdin []byte, lifetime string, args ...string) string {
	t.Helper()
	f, err := os.CreateTemp(k.Dir, "ccache-*")
	if err != nil {
		t.Fatal(err)
	}
	path := f.Name()
	f.Close()
	all := []string{"-c", "FILE:" + path}
	if lifetime != "" {
		all = append(all, "-l", lifetime)
	}
	all = append(all, args...)
	if out, err := k.run(stdin, "kinit", all...); err != nil {
		t.Fatalf("krbtest: kinit %s: %v\n%s", strings.Join(all, " "), err, out)
	}
	return path
}
