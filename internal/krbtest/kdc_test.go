package krbtest

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

func TestKDC(t *testing.T) {
	k := Start(t)
	t.Logf("realm and KDC ready in %v at %s", k.StartupTime, k.Addr)

	// The keytabs hold the principals' keys, and kinit gets tickets with them.
	for file, principal := range map[string]string{k.KeytabUserFile: k.KeytabUser, k.ServiceKeytab: k.ServicePrincipal} {
		kt, err := keytab.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		if len(kt.Entries) == 0 || !strings.HasPrefix(kt.Entries[0].Principal.String(), strings.Split(principal, "@")[0]) {
			t.Errorf("keytab %s: %v", file, kt)
		}
	}
	cc, err := credentials.LoadCCache(k.KinitKeytab(t, "bob", k.KeytabUserFile, ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := cc.DefaultPrincipal.PrincipalName.PrincipalNameString(); got != "bob" {
		t.Errorf("ccache principal %q", got)
	}
	if _, err := credentials.LoadCCache(k.KinitPassword(t, "alice", k.UserPassword, "1m")); err != nil {
		t.Fatal(err)
	}

	// The KDC logs what it did.
	if log := k.Log(); !strings.Contains(log, "AS_REQ") {
		t.Errorf("KDC log has no AS_REQ:\n%s", log)
	}

	// Stop kills the process; a second Stop is harmless.
	pid := k.cmd.Process.Pid
	k.Stop()
	k.Stop()
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status"); !strings.Contains(string(b), "zombie") {
			t.Errorf("KDC pid %d still running after Stop", pid)
		}
	}
}

var timeZero = time.Unix(0, 0)

// The acceptor never panics on hostile tokens.
func FuzzAcceptorStep(f *testing.F) {
	f.Add(false, []byte{0x60, 0x03, 0x06, 0x01, 0x00}, []byte{})
	f.Add(true, []byte("GSSAPI"), []byte{0x60, 0x80})
	f.Add(false, []byte{0x05, 0x04, 0x00, 0xff, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0}, []byte{})
	kt := keytab.New()
	if err := kt.AddEntry("cassandra/localhost", "FUZZ.TEST", "pw", timeZero, 1, 18); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, dse bool, a, b []byte) {
		s := (&Acceptor{Keytab: kt, DSE: dse}).NewSession()
		s.Step(a)
		s.Step(b)
		s.Identity()
	})
}

// fakeTB records Skip and Fatal instead of ending a real test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	f.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatal(args ...any) {
	f.failed = fmt.Sprint(args...)
	runtime.Goexit()
}

func TestStartWithoutTools(t *testing.T) {
	defer func(old func() (map[string]string, []string)) { lookupTools = old }(lookupTools)
	lookupTools = func() (map[string]string, []string) { return nil, []string{"krb5kdc", "kadmin.local"} }
	for _, tc := range []struct {
		env      map[string]string
		required bool
	}{
		{map[string]string{"CI": "", "CQLWIRE_REQUIRE_CASSANDRA": ""}, false},
		{map[string]string{"CI": "true", "CQLWIRE_REQUIRE_CASSANDRA": ""}, true},
		{map[string]string{"CI": "", "CQLWIRE_REQUIRE_CASSANDRA": "1"}, true},
	} {
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		f := &fakeTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Start(f)
		}()
		<-done
		msg := f.skipped
		if tc.required {
			msg = f.failed
		}
		if msg == "" || !strings.Contains(msg, "krb5kdc, kadmin.local missing") || !strings.Contains(msg, "apt-get install krb5-kdc krb5-admin-server krb5-user") {
			t.Errorf("env %v: skipped %q, failed %q", tc.env, f.skipped, f.failed)
		}
	}
}
