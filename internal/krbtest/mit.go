package krbtest

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// mitAcceptorScript is the server side of SASL GSSAPI (RFC 4752) written
// against MIT's own GSS-API library (through python3-gssapi), the
// reference the gokrb5-based Acceptor cannot be: it checks that what the
// client sends is what MIT (and so Cyrus SASL) accepts, and that the client
// reads MIT's tokens. One token per line, hex; it answers "C <hex>" (a
// challenge), "D <hex of user NUL authzid>" (success) or "E <hex of message>".
const mitAcceptorScript = `
import sys, gssapi

def read():
    return bytes.fromhex(sys.stdin.readline().strip())

def write(kind, data):
    sys.stdout.write(kind + " " + data.hex() + "\n")
    sys.stdout.flush()

layers = int(sys.argv[1])
try:
    creds = gssapi.Credentials(usage="accept")
    ctx = gssapi.SecurityContext(creds=creds, usage="accept")
    out = ctx.step(read())
    if not ctx.complete:
        raise Exception("context not complete after the AP-REQ")
    write("C", out or b"")
    if read():
        raise Exception("expected an empty response after the context token")
    write("C", ctx.wrap(bytes([layers, 0x01, 0x00, 0x00]), False).message)
    res = ctx.unwrap(read())
    if res.encrypted:
        raise Exception("security-layer response is encrypted")
    data = res.message
    if len(data) < 4 or data[0] != 1 or data[1:4] != b"\0\0\0":
        raise Exception("security-layer response %s: want 01 00 00 00 + authzid" % data.hex())
    write("D", str(ctx.initiator_name).encode() + b"\0" + data[4:])
except Exception as e:
    write("E", ("%s: %s" % (type(e).__name__, e)).encode())
`

// MITAvailable reports whether the MIT acceptor can run: Debian's
// /usr/bin/python3 with the gssapi module (python3-gssapi).
func MITAvailable() bool {
	return exec.Command("/usr/bin/python3", "-c", "import gssapi").Run() == nil
}

// MITSession is one exchange with an acceptor built on MIT's GSS-API
// library, with the Step and Identity methods of internal/testserver's
// SASLServer. StartMIT starts it; it ends with the exchange.
type MITSession struct {
	cmd        *exec.Cmd
	in         io.WriteCloser
	out        *bufio.Reader
	user, role string
	done       bool
}

// StartMIT starts an MIT acceptor process for one exchange, accepting any
// principal of keytabFile, offering the security layers in layers (0x01:
// none). It skips the test when python3-gssapi is missing (fails under
// Required()).
func (k *KDC) StartMIT(t testing.TB, keytabFile string, layers byte) *MITSession {
	t.Helper()
	if !MITAvailable() {
		msg := "krbtest: python3-gssapi is not installed (apt-get install python3-gssapi): no MIT acceptor"
		if Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	script := filepath.Join(k.Dir, "mit_acceptor.py")
	if err := os.WriteFile(script, []byte(mitAcceptorScript), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", script, fmt.Sprint(layers))
	cmd.Env = append(k.Env(), "KRB5_KTNAME=FILE:"+keytabFile)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &MITSession{cmd: cmd, in: in, out: bufio.NewReader(out)}
	t.Cleanup(func() {
		s.in.Close()
		s.cmd.Process.Kill()
		s.cmd.Wait()
	})
	return s
}

// Step sends one client token and returns the acceptor's answer.
func (s *MITSession) Step(token []byte) (challenge []byte, done bool, success []byte, err error) {
	if s.done {
		return nil, false, nil, errors.New("mit acceptor: the exchange is over")
	}
	if _, err := fmt.Fprintf(s.in, "%x\n", token); err != nil {
		s.done = true
		return nil, false, nil, fmt.Errorf("mit acceptor: %w", err)
	}
	line, err := s.out.ReadString('\n')
	if err != nil {
		s.done = true
		return nil, false, nil, fmt.Errorf("mit acceptor: reading its answer: %w", err)
	}
	kind, h, _ := strings.Cut(strings.TrimSpace(line), " ")
	b, herr := hex.DecodeString(h)
	if herr != nil {
		s.done = true
		return nil, false, nil, fmt.Errorf("mit acceptor: bad answer %q", line)
	}
	switch kind {
	case "C":
		return b, false, nil, nil
	case "D":
		s.done = true
		user, authz, _ := strings.Cut(string(b), "\x00")
		s.user, s.role = user, user
		if authz != "" {
			s.role = authz
		}
		return nil, true, nil, nil
	default:
		s.done = true
		return nil, false, nil, fmt.Errorf("mit acceptor: %s", b)
	}
}

// Identity returns the client principal and the role (authorization id).
func (s *MITSession) Identity() (user, role string) { return s.user, s.role }
