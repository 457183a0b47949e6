package conn

// Wire-level authentication tests: conn.Dial over real TCP connections to
// internal/testserver, with the SASL exchange checked byte for byte as it
// crossed the socket (a recording net.Conn given as Config.DialContext) and
// as the server's handler saw it.
//
// The server side of these logins cannot be a real Apache Cassandra node:
// Cassandra has no DseAuthenticator (no mechanism negotiation, no proxy
// login, no proxy execute) and no Kerberos authenticator. So DSE's
// behaviour is testserver's (testserver.DSE, testserver.Plain), and the
// Kerberos server side is internal/krbtest's acceptor, which validates the
// client's AP-REQ with gokrb5's service-side code and the service keytab
// and runs the SASL GSSAPI exchange of RFC 4752, plugged into testserver.
// The KDC, however, is real: MIT's krb5kdc, started per test by
// krbtest.Start (which skips without the MIT tools, and fails under CI or
// CQLWIRE_REQUIRE_CASSANDRA). PasswordAuthenticator logins against the real
// node are in real_test.go.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/auth/kerberos"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/compress"
	"github.com/cqlwire/cqlwire/frame/segment"
	"github.com/cqlwire/cqlwire/internal/krbtest"
	"github.com/cqlwire/cqlwire/internal/testserver"
	"github.com/cqlwire/cqlwire/types"
)

// kerberosClass is the authenticator class a third-party Kerberos plugin
// for Apache Cassandra could announce (anything but DseAuthenticator: the
// client then sends the AP-REQ as its first token).
const kerberosClass = "com.example.cassandra.KerberosAuthenticator"

// ---------------------------------------------------------------------------
// Recording the wire

// wireRecorder is a net.Conn that keeps every byte the client wrote (out)
// and read (in).
type wireRecorder struct {
	net.Conn
	mu      sync.Mutex
	out, in []byte
}

func (w *wireRecorder) Write(b []byte) (int, error) {
	// Record first: the server may answer, and the test read the record,
	// before Write returns.
	w.mu.Lock()
	start := len(w.out)
	w.out = append(w.out, b...)
	w.mu.Unlock()
	n, err := w.Conn.Write(b)
	if n < len(b) {
		w.mu.Lock()
		w.out = append(w.out[:start+n], w.out[start+len(b):]...)
		w.mu.Unlock()
	}
	return n, err
}

func (w *wireRecorder) Read(b []byte) (int, error) {
	n, err := w.Conn.Read(b)
	w.mu.Lock()
	w.in = append(w.in, b[:n]...)
	w.mu.Unlock()
	return n, err
}

func (w *wireRecorder) bytes() (out, in []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.out), bytes.Clone(w.in)
}

// wireTap is a Config.DialContext that records every connection it opens.
type wireTap struct {
	mu    sync.Mutex
	conns []*wireRecorder
}

func (tp *wireTap) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	r := &wireRecorder{Conn: nc}
	tp.mu.Lock()
	tp.conns = append(tp.conns, r)
	tp.mu.Unlock()
	return r, nil
}

// only returns the one connection opened (a second one would be a retry).
func (tp *wireTap) only(t testing.TB) *wireRecorder {
	t.Helper()
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if len(tp.conns) != 1 {
		t.Fatalf("%d connections were opened, want exactly 1 (no retry, no version fallback)", len(tp.conns))
	}
	return tp.conns[0]
}

// wireMsg is one envelope as it crossed the socket.
type wireMsg struct {
	h    frame.Header
	raw  []byte // header and body as framed (the body compressed if the header says so)
	body []byte // the body, decompressed
}

// parseWire splits one direction of a connection's bytes into envelopes:
// unframed until the switch to v5 segments (after STARTUP from the client,
// after READY or AUTHENTICATE from the server), segments afterwards. comp
// is the compression negotiated.
func parseWire(t testing.TB, b []byte, fromServer bool, comp string) []wireMsg {
	t.Helper()
	var v4comp frame.Compressor
	switch comp {
	case "lz4":
		v4comp = compress.LZ4{}
	case "snappy":
		v4comp = compress.Snappy{}
	}
	var msgs []wireMsg
	add := func(env []byte) error {
		h, err := frame.ParseHeader(env, nil)
		if err != nil {
			return err
		}
		if len(env) != frame.HeaderSize+h.Length {
			return fmt.Errorf("%s envelope of %d bytes, its header says %d", h.Opcode, len(env), frame.HeaderSize+h.Length)
		}
		m := wireMsg{h: h, raw: bytes.Clone(env)}
		m.body = m.raw[frame.HeaderSize:]
		if h.Flags&frame.FlagCompression != 0 {
			if v4comp == nil {
				return fmt.Errorf("compressed %s without compression negotiated", h.Opcode)
			}
			if m.body, err = v4comp.AppendDecompressed(nil, m.body, frame.DefaultMaxFrameSize); err != nil {
				return err
			}
		}
		msgs = append(msgs, m)
		return nil
	}
	segmented := false
	var reasm segment.Reassembler
	for off := 0; off < len(b); {
		if !segmented {
			h, err := frame.ParseHeader(b[off:], nil)
			if err != nil {
				t.Fatalf("wire (from server %v) at offset %d: %v", fromServer, off, err)
			}
			n := frame.HeaderSize + h.Length
			if len(b)-off < n {
				t.Logf("wire (from server %v): %d bytes of a partial envelope at the end", fromServer, len(b)-off)
				break
			}
			if err := add(b[off : off+n]); err != nil {
				t.Fatalf("wire (from server %v) at offset %d: %v", fromServer, off, err)
			}
			off += n
			if h.Version >= frame.V5 && (fromServer && (h.Opcode == frame.OpReady || h.Opcode == frame.OpAuthenticate) ||
				!fromServer && h.Opcode == frame.OpStartup) {
				segmented = true
			}
			continue
		}
		payload, self, n, err := segment.DecodeSegment(b[off:], comp == "lz4", nil)
		if errors.Is(err, segment.ErrIncomplete) {
			t.Logf("wire (from server %v): %d bytes of a partial segment at the end", fromServer, len(b)-off)
			break
		}
		if err != nil {
			t.Fatalf("wire (from server %v) at offset %d: %v", fromServer, off, err)
		}
		if err := reasm.Add(payload, self, add); err != nil {
			t.Fatalf("wire (from server %v) at offset %d: %v", fromServer, off, err)
		}
		off += n
	}
	return msgs
}

// authWire is the SASL exchange of one recorded connection.
type authWire struct {
	class  string    // the AUTHENTICATE class
	client []wireMsg // the AUTH_RESPONSEs
	server []wireMsg // what answered them: AUTH_CHALLENGE..., then AUTH_SUCCESS or ERROR
}

func authExchange(t testing.TB, rec *wireRecorder, comp string) authWire {
	t.Helper()
	out, in := rec.bytes()
	var w authWire
	for _, m := range parseWire(t, out, false, comp) {
		if m.h.Opcode == frame.OpAuthResponse {
			w.client = append(w.client, m)
		}
	}
	started := false
	for _, m := range parseWire(t, in, true, comp) {
		if m.h.Opcode == frame.OpAuthenticate {
			started = true
			if len(m.body) < 2 {
				t.Fatalf("AUTHENTICATE body %x", m.body)
			}
			w.class = string(m.body[2:])
			if !bytes.Equal(m.body, stringBody(w.class)) {
				t.Errorf("AUTHENTICATE body %x is not one [string]", m.body)
			}
			continue
		}
		if !started {
			continue
		}
		w.server = append(w.server, m)
		if m.h.Opcode == frame.OpAuthSuccess || m.h.Opcode == frame.OpError {
			break
		}
	}
	return w
}

// want is an expected envelope of the exchange: opcode and exact body.
type want struct {
	op   frame.Opcode
	body []byte
}

// check compares the exchange with the expected one, body for body, and,
// when the envelopes were not compressed, also the whole envelope: header
// (version, direction, no flags, stream 0, opcode, length) and body.
func (w authWire) check(t testing.TB, v frame.Version, comp, class string, client, server []want) {
	t.Helper()
	if w.class != class {
		t.Errorf("AUTHENTICATE %q, want %q", w.class, class)
	}
	cmp := func(dir string, got []wireMsg, wants []want, response bool) {
		t.Helper()
		if len(got) != len(wants) {
			var ops []string
			for _, m := range got {
				ops = append(ops, fmt.Sprintf("%s %x", m.h.Opcode, m.body))
			}
			t.Errorf("%s: %d envelopes, want %d:\n%s", dir, len(got), len(wants), strings.Join(ops, "\n"))
			return
		}
		for i, m := range got {
			wn := wants[i]
			if m.h.Opcode != wn.op || !bytes.Equal(m.body, wn.body) {
				t.Errorf("%s #%d: %s body\n%s\nwant %s body\n%s", dir, i, m.h.Opcode, hex.Dump(m.body), wn.op, hex.Dump(wn.body))
				continue
			}
			if m.h.Flags&frame.FlagCompression != 0 {
				if v >= frame.V5 || comp == "" {
					t.Errorf("%s #%d: compression flag set (v%d, compression %q)", dir, i, v, comp)
				}
				continue
			}
			if exact := envelopeBytes(v, response, wn.op, wn.body); !bytes.Equal(m.raw, exact) {
				t.Errorf("%s #%d: envelope\n%s\nwant\n%s", dir, i, hex.Dump(m.raw), hex.Dump(exact))
			}
		}
	}
	cmp("client", w.client, client, false)
	cmp("server", w.server, server, true)
}

// envelopeBytes is the envelope of a handshake message: stream 0, no flags.
func envelopeBytes(v frame.Version, response bool, op frame.Opcode, body []byte) []byte {
	b := []byte{byte(v), 0x00, 0x00, 0x00, byte(op)}
	if response {
		b[0] |= 0x80
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	return append(b, body...)
}

// bytesBody is a [bytes] token (nil: the null token ff ff ff ff).
func bytesBody(tok []byte) []byte {
	if tok == nil {
		return []byte{0xff, 0xff, 0xff, 0xff}
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(tok))), tok...)
}

// stringBody is a [string].
func stringBody(s string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...)
}

// errorBody is an ERROR body: [int] code, [string] message.
func errorBody(code frame.ErrorCode, msg string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(code)), stringBody(msg)...)
}

func catBytes(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// ---------------------------------------------------------------------------
// The server

// whoamiCQL is answered by the wire server with the connection's identity:
// ConnInfo.User, the role it acts as (ConnInfo.Role, or the ProxyExecute
// role when one is sent and allowed), and ConnInfo.ID.
const whoamiCQL = "SELECT user, role, connection FROM wire.whoami"

// wireServer is a testserver whose handler records every AUTH_RESPONSE
// and QUERY as it received them, with its answer.
type wireServer struct {
	*testserver.Server
	// proxyExecute lists, for each role, the roles it may execute as
	// (DSE's PROXY.EXECUTE permission).
	proxyExecute map[string][]string

	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	conn  int64
	h     frame.Header
	body  []byte        // the body as the handler got it (decompressed)
	reply frame.Message // the answer
}

func startWireServer(t testing.TB, opts testserver.Options, proxyExecute map[string][]string) *wireServer {
	t.Helper()
	s := &wireServer{proxyExecute: proxyExecute}
	opts.Handler = s.handle
	s.Server = startServer(t, opts)
	return s
}

func (s *wireServer) handle(req *testserver.Request) testserver.Reply {
	var rep testserver.Reply
	switch req.Header.Opcode {
	case frame.OpAuthResponse:
		rep = req.Default()
	case frame.OpQuery:
		rep = s.answerQuery(req)
	default:
		return req.Default()
	}
	s.mu.Lock()
	s.seen = append(s.seen, seenRequest{conn: req.Conn.ID, h: req.Header, body: bytes.Clone(req.Body), reply: rep.Message})
	s.mu.Unlock()
	return rep
}

func (s *wireServer) answerQuery(req *testserver.Request) testserver.Reply {
	env, err := req.Envelope()
	if err != nil {
		return req.Default()
	}
	q, ok := env.Message.(*frame.Query)
	if !ok || q.Query != whoamiCQL || !req.Conn.Authenticated {
		return req.Default()
	}
	role := req.Conn.Role
	if target, ok := env.CustomPayload[auth.ProxyExecuteKey]; ok {
		if !slices.Contains(s.proxyExecute[role], string(target)) {
			return testserver.Reply{Message: &frame.Error{Code: frame.CodeUnauthorized,
				Message: fmt.Sprintf("Either '%s' does not have permission to execute queries as '%s' or that role does not exist", role, target)}}
		}
		role = string(target)
	}
	rows := &frame.Rows{Metadata: frame.RowsMetadata{Flags: frame.MetaGlobalTablesSpec, Columns: []frame.ColumnSpec{
		{Keyspace: "wire", Table: "whoami", Name: "user", Type: types.Native(types.Varchar)},
		{Keyspace: "wire", Table: "whoami", Name: "role", Type: types.Native(types.Varchar)},
		{Keyspace: "wire", Table: "whoami", Name: "connection", Type: types.Native(types.Bigint)},
	}}}
	if err := rows.AppendRow([]byte(req.Conn.User), []byte(role), binary.BigEndian.AppendUint64(nil, uint64(req.Conn.ID))); err != nil {
		return testserver.Reply{Message: &frame.Error{Code: frame.CodeServerError, Message: err.Error()}}
	}
	return testserver.Reply{Message: rows}
}

// requests returns what the handler saw of opcode op.
func (s *wireServer) requests(op frame.Opcode) []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []seenRequest
	for _, r := range s.seen {
		if r.h.Opcode == op {
			out = append(out, r)
		}
	}
	return out
}

// authResponses returns the AUTH_RESPONSE bodies the handler saw on one
// connection, and what answered each.
func (s *wireServer) authResponses(conn int64) []seenRequest {
	var out []seenRequest
	for _, r := range s.requests(frame.OpAuthResponse) {
		if r.conn == conn {
			out = append(out, r)
		}
	}
	return out
}

// identity is what the server says a connection is.
type identity struct {
	user, role string
	conn       int64
}

func whoamiRequest(payload map[string][]byte) Request {
	return Request{Message: &frame.Query{Query: whoamiCQL, Params: frame.QueryParams{Consistency: frame.One}}, CustomPayload: payload}
}

func whoami(ctx context.Context, c *Conn, payload map[string][]byte) (identity, error) {
	env, err := c.Do(ctx, whoamiRequest(payload))
	if err != nil {
		return identity{}, err
	}
	rows, ok := env.Message.(*frame.Rows)
	if !ok {
		return identity{}, fmt.Errorf("answer is %s, want rows", frame.DescribeMessage(env.Message))
	}
	it := rows.Iter()
	cells, ok := it.Next(nil)
	if !ok || len(cells) != 3 || len(cells[2]) != 8 {
		return identity{}, fmt.Errorf("bad whoami row (%v)", it.Err())
	}
	return identity{user: string(cells[0]), role: string(cells[1]), conn: int64(binary.BigEndian.Uint64(cells[2]))}, nil
}

func mustWhoami(t testing.TB, c *Conn, payload map[string][]byte) identity {
	t.Helper()
	id, err := whoami(context.Background(), c, payload)
	if err != nil {
		t.Fatalf("whoami: %v", err)
	}
	return id
}

// ---------------------------------------------------------------------------
// Client helpers

// countingAuth counts the exchanges an Authenticator starts.
type countingAuth struct {
	auth.Authenticator
	starts *atomic.Int32
}

func (a countingAuth) Start(ctx context.Context, server auth.ServerInfo) (auth.Exchange, []byte, error) {
	a.starts.Add(1)
	return a.Authenticator.Start(ctx, server)
}

type wireVariant struct {
	v    frame.Version
	comp string
}

func (w wireVariant) String() string {
	if w.comp == "" {
		return fmt.Sprintf("v%d", w.v)
	}
	return fmt.Sprintf("v%d-%s", w.v, w.comp)
}

var wireVariants = []wireVariant{{frame.V4, ""}, {frame.V4, "lz4"}, {frame.V4, "snappy"}, {frame.V5, ""}, {frame.V5, "lz4"}}

func (w wireVariant) config(tp *wireTap, a auth.Authenticator) *Config {
	return &Config{MinVersion: w.v, MaxVersion: w.v, Compression: w.comp, Authenticator: a,
		DialContext: tp.dial, DialTimeout: 15 * time.Second}
}

// dialFails dials and returns the error, which must be an *Error of the
// authentication step naming the address.
func dialFails(t testing.TB, addr string, cfg *Config) (*Error, error) {
	t.Helper()
	c, err := Dial(context.Background(), addr, cfg)
	if err == nil {
		c.Close()
		t.Fatal("Dial succeeded, want an authentication failure")
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Op != "authentication" || ce.Addr != addr || ce.Request {
		t.Fatalf("Dial: %v (%T), want a *conn.Error of the authentication step for %s", err, err, addr)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("the error does not name the node: %v", err)
	}
	return ce, err
}

// noSecret fails when secret shows in err, however it is printed.
func noSecret(t testing.TB, err error, secret string) {
	t.Helper()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if s := fmt.Sprintf(verb, err); strings.Contains(s, secret) {
			t.Errorf("%s of the error shows the secret: %s", verb, s)
		}
	}
}

// ---------------------------------------------------------------------------
// PLAIN with PasswordAuthenticator

// TestWirePlainPasswordAuthenticator: a PLAIN login to PasswordAuthenticator
// is one AUTH_RESPONSE carrying 00 user 00 password, answered by
// AUTH_SUCCESS with a null token; a wrong password is one AUTH_RESPONSE
// answered by an Authentication_error, which Dial returns as a *conn.Error
// wrapping the server's *frame.Error, on the one connection it opened,
// without retrying and without showing the password.
func TestWirePlainPasswordAuthenticator(t *testing.T) {
	const user, password = "alice", "alice-s3cret"
	srv := startWireServer(t, testserver.Options{
		Authenticator: testserver.PasswordAuthenticator,
		NewSASL:       (&testserver.Plain{Users: map[string]string{user: password}}).NewSASL,
	}, nil)
	token := []byte("\x00alice\x00alice-s3cret")
	for _, wv := range wireVariants {
		t.Run(wv.String(), func(t *testing.T) {
			t.Run("login", func(t *testing.T) {
				tp := &wireTap{}
				c := dialT(t, srv.Addr(), wv.config(tp, auth.Plain{Username: user, Password: password}))
				id := mustWhoami(t, c, nil)
				if id.user != user || id.role != user {
					t.Errorf("the server sees %q acting as %q, want %q", id.user, id.role, user)
				}
				if c.Authenticator() != auth.PasswordAuthenticator {
					t.Errorf("Conn.Authenticator() = %q", c.Authenticator())
				}
				authExchange(t, tp.only(t), wv.comp).check(t, wv.v, wv.comp, auth.PasswordAuthenticator,
					[]want{{frame.OpAuthResponse, catBytes([]byte{0, 0, 0, 0x13}, token)}},
					[]want{{frame.OpAuthSuccess, []byte{0xff, 0xff, 0xff, 0xff}}})
				seen := srv.authResponses(id.conn)
				if len(seen) != 1 || !bytes.Equal(seen[0].body, bytesBody(token)) || seen[0].h.Stream != 0 || seen[0].h.Flags != 0 {
					t.Errorf("the server saw %d AUTH_RESPONSEs: %+v", len(seen), seen)
				}
			})
			t.Run("wrong password", func(t *testing.T) {
				const wrong = "not-alices-pa55word"
				var starts atomic.Int32
				var logs bytes.Buffer
				tp := &wireTap{}
				cfg := wv.config(tp, countingAuth{auth.Plain{Username: user, Password: wrong}, &starts})
				cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				before := srv.Stats()
				beforeAuth := len(srv.requests(frame.OpAuthResponse))
				_, err := dialFails(t, srv.Addr(), cfg)
				var fe *frame.Error
				if !errors.As(err, &fe) || fe.Code != frame.CodeAuthenticationError ||
					fe.Message != "Provided username alice and/or password are incorrect" {
					t.Fatalf("Dial: %v, want the server's Authentication_error", err)
				}
				if !strings.Contains(err.Error(), auth.PasswordAuthenticator) {
					t.Errorf("the error does not name the authenticator class: %v", err)
				}
				noSecret(t, err, wrong)
				if strings.Contains(logs.String(), wrong) {
					t.Errorf("the log shows the password:\n%s", logs.String())
				}
				// Exactly one exchange: one Start, one connection, one AUTH_RESPONSE.
				if n := starts.Load(); n != 1 {
					t.Errorf("the exchange was started %d times, want 1", n)
				}
				if n := srv.Stats().Accepted - before.Accepted; n != 1 {
					t.Errorf("%d connections, want 1", n)
				}
				if n := len(srv.requests(frame.OpAuthResponse)) - beforeAuth; n != 1 {
					t.Errorf("the server got %d AUTH_RESPONSEs, want 1", n)
				}
				authExchange(t, tp.only(t), wv.comp).check(t, wv.v, wv.comp, auth.PasswordAuthenticator,
					[]want{{frame.OpAuthResponse, bytesBody([]byte("\x00alice\x00" + wrong))}},
					[]want{{frame.OpError, errorBody(frame.CodeAuthenticationError, "Provided username alice and/or password are incorrect")}})
				// Dial closed the connection.
				waitFor(t, func() bool { return srv.Stats().Open == 0 })
				t.Log(err)
			})
		})
	}
}

// ---------------------------------------------------------------------------
// DSE: mechanism selection and proxy login

// TestWireDSEProxyLogin: with DseAuthenticator the client names the PLAIN
// mechanism first ("PLAIN"), the server answers "PLAIN-START", then the
// client sends authzid 00 authcid 00 password: bob logging in to act as
// alice is, byte for byte, "alice\x00bob\x00bob-pw", and the server then
// sees user bob acting as alice. A proxy login to a role bob may not
// assume is refused with the server's message, in one exchange.
func TestWireDSEProxyLogin(t *testing.T) {
	plain := &testserver.Plain{
		Users: map[string]string{"bob": "bob-pw", "alice": "alice-pw"},
		Proxy: map[string][]string{"bob": {"alice"}},
	}
	srv := startWireServer(t, testserver.Options{
		Authenticator: testserver.DSEAuthenticator,
		NewSASL:       testserver.DSE(map[string]func(*testserver.ConnInfo) testserver.SASLServer{"PLAIN": plain.NewSASL}, "PLAIN"),
	}, nil)
	plainMech := []byte{0, 0, 0, 5, 'P', 'L', 'A', 'I', 'N'}
	plainStart := []byte{0, 0, 0, 0x0b, 'P', 'L', 'A', 'I', 'N', '-', 'S', 'T', 'A', 'R', 'T'}
	success := []byte{0xff, 0xff, 0xff, 0xff}

	for _, wv := range wireVariants {
		t.Run(wv.String(), func(t *testing.T) {
			t.Run("login", func(t *testing.T) {
				tp := &wireTap{}
				c := dialT(t, srv.Addr(), wv.config(tp, auth.Plain{Username: "bob", Password: "bob-pw"}))
				if id := mustWhoami(t, c, nil); id.user != "bob" || id.role != "bob" {
					t.Errorf("the server sees %q acting as %q, want bob as bob", id.user, id.role)
				}
				authExchange(t, tp.only(t), wv.comp).check(t, wv.v, wv.comp, auth.DSEAuthenticator,
					[]want{{frame.OpAuthResponse, plainMech}, {frame.OpAuthResponse, catBytes([]byte{0, 0, 0, 0x0b}, []byte("\x00bob\x00bob-pw"))}},
					[]want{{frame.OpAuthChallenge, plainStart}, {frame.OpAuthSuccess, success}})
			})
			t.Run("proxy login", func(t *testing.T) {
				tp := &wireTap{}
				c := dialT(t, srv.Addr(), wv.config(tp, auth.Plain{Username: "bob", Password: "bob-pw", AuthorizationID: "alice"}))
				id := mustWhoami(t, c, nil)
				if id.user != "bob" || id.role != "alice" {
					t.Errorf("the server sees %q acting as %q, want bob acting as alice", id.user, id.role)
				}
				// authzid "alice" NUL authcid "bob" NUL password "bob-pw": 16 bytes.
				proxyToken := []byte{0, 0, 0, 0x10, 'a', 'l', 'i', 'c', 'e', 0, 'b', 'o', 'b', 0, 'b', 'o', 'b', '-', 'p', 'w'}
				authExchange(t, tp.only(t), wv.comp).check(t, wv.v, wv.comp, auth.DSEAuthenticator,
					[]want{{frame.OpAuthResponse, plainMech}, {frame.OpAuthResponse, proxyToken}},
					[]want{{frame.OpAuthChallenge, plainStart}, {frame.OpAuthSuccess, success}})
				// The handler saw the same bodies, and the server's answers.
				seen := srv.authResponses(id.conn)
				if len(seen) != 2 || !bytes.Equal(seen[0].body, plainMech) || !bytes.Equal(seen[1].body, proxyToken) {
					t.Fatalf("the server saw %+v", seen)
				}
				if ch, ok := seen[0].reply.(*frame.AuthChallenge); !ok || string(ch.Token) != "PLAIN-START" {
					t.Errorf("first answer %s", frame.DescribeMessage(seen[0].reply))
				}
				if su, ok := seen[1].reply.(*frame.AuthSuccess); !ok || su.Token != nil {
					t.Errorf("second answer %s", frame.DescribeMessage(seen[1].reply))
				}
			})
			t.Run("proxy login refused", func(t *testing.T) {
				var starts atomic.Int32
				tp := &wireTap{}
				before := srv.Stats().Accepted
				beforeAuth := len(srv.requests(frame.OpAuthResponse))
				_, err := dialFails(t, srv.Addr(), wv.config(tp, countingAuth{auth.Plain{Username: "bob", Password: "bob-pw", AuthorizationID: "carol"}, &starts}))
				const msg = "bob is not authorized to log in as carol"
				var fe *frame.Error
				if !errors.As(err, &fe) || fe.Code != frame.CodeAuthenticationError || fe.Message != msg {
					t.Fatalf("Dial: %v, want the server's refusal", err)
				}
				if !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), auth.DSEAuthenticator) {
					t.Errorf("unclear error: %v", err)
				}
				noSecret(t, err, "bob-pw")
				if starts.Load() != 1 || srv.Stats().Accepted-before != 1 || len(srv.requests(frame.OpAuthResponse))-beforeAuth != 2 {
					t.Errorf("%d starts, %d connections, %d AUTH_RESPONSEs: want one exchange of two messages",
						starts.Load(), srv.Stats().Accepted-before, len(srv.requests(frame.OpAuthResponse))-beforeAuth)
				}
				authExchange(t, tp.only(t), wv.comp).check(t, wv.v, wv.comp, auth.DSEAuthenticator,
					[]want{{frame.OpAuthResponse, plainMech}, {frame.OpAuthResponse, bytesBody([]byte("carol\x00bob\x00bob-pw"))}},
					[]want{{frame.OpAuthChallenge, plainStart}, {frame.OpError, errorBody(frame.CodeAuthenticationError, msg)}})
				t.Log(err)
			})
		})
	}

	t.Run("proxy login to PasswordAuthenticator", func(t *testing.T) {
		// Apache Cassandra's PasswordAuthenticator would ignore the
		// authorization id and log bob in as bob: the client refuses to
		// send it, so nothing reaches the server.
		pw := startWireServer(t, testserver.Options{Authenticator: testserver.PasswordAuthenticator, NewSASL: plain.NewSASL}, nil)
		tp := &wireTap{}
		_, err := dialFails(t, pw.Addr(), wireVariant{frame.V5, ""}.config(tp, auth.Plain{Username: "bob", Password: "bob-pw", AuthorizationID: "alice"}))
		if !strings.Contains(err.Error(), "authorization id") || !strings.Contains(err.Error(), auth.PasswordAuthenticator) {
			t.Errorf("unclear error: %v", err)
		}
		if w := authExchange(t, tp.only(t), ""); len(w.client) != 0 || len(pw.requests(frame.OpAuthResponse)) != 0 {
			t.Errorf("%d AUTH_RESPONSEs were sent", len(w.client))
		}
		t.Log(err)
	})
}

// ---------------------------------------------------------------------------
// DSE proxy execute

// proxyExecuteAlice is the custom payload {"ProxyExecute": "alice"} as a
// [bytes map]: one entry, [string] key, [bytes] value.
var proxyExecuteAlice = []byte{
	0x00, 0x01,
	0x00, 0x0c, 'P', 'r', 'o', 'x', 'y', 'E', 'x', 'e', 'c', 'u', 't', 'e',
	0x00, 0x00, 0x00, 0x05, 'a', 'l', 'i', 'c', 'e',
}

// TestWireProxyExecute: a QUERY with auth.ProxyExecute("alice") as its
// custom payload goes out with the custom-payload flag (0x04) and the body
// 0001 000c "ProxyExecute" 00000005 "alice" followed by the QUERY body,
// both on the wire and as the server's handler receives it; without a
// payload neither flag nor prefix is there. The server (acting as DSE)
// runs the request as alice, and refuses a role bob may not execute as
// with an Unauthorized error that leaves the connection usable.
func TestWireProxyExecute(t *testing.T) {
	if got := auth.ProxyExecute("alice"); len(got) != 1 || string(got[auth.ProxyExecuteKey]) != "alice" || auth.ProxyExecuteKey != "ProxyExecute" {
		t.Fatalf("auth.ProxyExecute(alice) = %q", got)
	}
	plain := &testserver.Plain{Users: map[string]string{"bob": "bob-pw"}}
	srv := startWireServer(t, testserver.Options{
		Authenticator: testserver.DSEAuthenticator,
		NewSASL:       testserver.DSE(map[string]func(*testserver.ConnInfo) testserver.SASLServer{"PLAIN": plain.NewSASL}, "PLAIN"),
	}, map[string][]string{"bob": {"alice"}})

	for _, wv := range wireVariants {
		t.Run(wv.String(), func(t *testing.T) {
			tp := &wireTap{}
			c := dialT(t, srv.Addr(), wv.config(tp, auth.Plain{Username: "bob", Password: "bob-pw"}))
			queryBody, err := whoamiRequest(nil).Message.AppendBody(nil, wv.v)
			if err != nil {
				t.Fatal(err)
			}
			wantBody := catBytes(proxyExecuteAlice, queryBody)

			if id := mustWhoami(t, c, nil); id.user != "bob" || id.role != "bob" {
				t.Errorf("without ProxyExecute: %q as %q", id.user, id.role)
			}
			id := mustWhoami(t, c, auth.ProxyExecute("alice"))
			if id.user != "bob" || id.role != "alice" {
				t.Errorf("with ProxyExecute(alice): %q as %q, want bob as alice", id.user, id.role)
			}
			_, err = whoami(context.Background(), c, auth.AddProxyExecute(nil, "carol"))
			var fe *frame.Error
			if !errors.As(err, &fe) || fe.Code != frame.CodeUnauthorized || !strings.Contains(fe.Message, "'carol'") {
				t.Errorf("ProxyExecute(carol): %v, want Unauthorized", err)
			}
			if _, err := whoami(context.Background(), c, nil); err != nil {
				t.Errorf("the connection is not usable after the refusal: %v", err)
			}

			// As the server's handler received them.
			var queries []seenRequest
			for _, r := range srv.requests(frame.OpQuery) {
				if r.conn == id.conn {
					queries = append(queries, r)
				}
			}
			if len(queries) != 4 {
				t.Fatalf("the server saw %d QUERYs on the connection, want 4", len(queries))
			}
			if q := queries[0]; q.h.Flags != 0 || !bytes.Equal(q.body, queryBody) {
				t.Errorf("QUERY without payload: flags %v, body\n%s", q.h.Flags, hex.Dump(q.body))
			}
			if q := queries[1]; q.h.Flags != frame.FlagCustomPayload || !bytes.Equal(q.body, wantBody) {
				t.Errorf("QUERY with ProxyExecute(alice): flags %v, body\n%s\nwant flags %v, body\n%s", q.h.Flags, hex.Dump(q.body), frame.FlagCustomPayload, hex.Dump(wantBody))
			}

			// On the wire.
			out, _ := tp.only(t).bytes()
			var wire []wireMsg
			for _, m := range parseWire(t, out, false, wv.comp) {
				if m.h.Opcode == frame.OpQuery {
					wire = append(wire, m)
				}
			}
			if len(wire) != 4 {
				t.Fatalf("%d QUERYs on the wire, want 4", len(wire))
			}
			m := wire[1]
			wantFlags := frame.FlagCustomPayload
			if wv.v < frame.V5 && wv.comp != "" {
				wantFlags |= frame.FlagCompression
			}
			if m.raw[0] != byte(wv.v) || frame.Flags(m.raw[1]) != wantFlags || m.raw[4] != byte(frame.OpQuery) {
				t.Errorf("QUERY header % x, want version %d, flags %#02x, opcode 07", m.raw[:frame.HeaderSize], wv.v, wantFlags)
			}
			if !bytes.Equal(m.body, wantBody) {
				t.Errorf("QUERY body on the wire\n%s\nwant\n%s", hex.Dump(m.body), hex.Dump(wantBody))
			}
			if wantFlags&frame.FlagCompression == 0 {
				if got := m.raw[frame.HeaderSize:]; !bytes.Equal(got, wantBody) || int(binary.BigEndian.Uint32(m.raw[5:9])) != len(wantBody) {
					t.Errorf("raw QUERY envelope\n%s", hex.Dump(m.raw))
				}
				if !bytes.HasPrefix(m.raw[frame.HeaderSize:], []byte("\x00\x01\x00\x0cProxyExecute\x00\x00\x00\x05alice")) {
					t.Errorf("the payload is not the first bytes of the body:\n%s", hex.Dump(m.raw))
				}
			}
			if f := wire[0].h.Flags &^ frame.FlagCompression; f != 0 || !bytes.Equal(wire[0].body, queryBody) {
				t.Errorf("QUERY without payload on the wire: flags %v, body\n%s", wire[0].h.Flags, hex.Dump(wire[0].body))
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Kerberos (GSSAPI)

// gssRegistry hands out krbtest acceptor sessions as a testserver
// NewSASL (directly, or as DSE's "GSSAPI" mechanism) and remembers which
// connection each one served.
type gssRegistry struct {
	acc    *krbtest.Acceptor
	mu     sync.Mutex
	byConn map[int64]*krbtest.Session
}

func newGSSRegistry(t testing.TB, kdc *krbtest.KDC, configure func(*krbtest.Acceptor)) *gssRegistry {
	t.Helper()
	acc, err := krbtest.LoadAcceptor(kdc.ServiceKeytab, kdc.ServicePrincipal)
	if err != nil {
		t.Fatal(err)
	}
	acc.Authorize = func(user, role string) error {
		if role == "forbidden" {
			return errors.New("no PROXY.LOGIN permission on role forbidden")
		}
		return nil
	}
	if configure != nil {
		configure(acc)
	}
	return &gssRegistry{acc: acc, byConn: map[int64]*krbtest.Session{}}
}

func (r *gssRegistry) newSASL(ci *testserver.ConnInfo) testserver.SASLServer {
	s := r.acc.NewSession()
	r.mu.Lock()
	r.byConn[ci.ID] = s
	r.mu.Unlock()
	return s
}

func (r *gssRegistry) session(conn int64) *krbtest.Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byConn[conn]
}

func newWireGSSAPI(t testing.TB, cfg kerberos.Config) *kerberos.GSSAPI {
	t.Helper()
	g, err := kerberos.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// krb5OID is the DER-encoded Kerberos V5 mechanism OID that starts the
// inner part of a GSS-API framed token (RFC 2743 3.1, RFC 1964 1.1).
var krb5OID = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}

// checkContextToken checks a GSS-API framed Kerberos token: 60 <DER
// length> OID tokID <[APPLICATION app] ...>.
func checkContextToken(t testing.TB, what string, tok []byte, tokID [2]byte, app byte) {
	t.Helper()
	if len(tok) < 2 || tok[0] != 0x60 {
		t.Errorf("%s: %x... is not a GSS-API token (60 ...)", what, tok[:min(len(tok), 8)])
		return
	}
	n, hdr := int(tok[1]), 2
	if tok[1] >= 0x80 {
		k := int(tok[1] & 0x7f)
		if k > 3 || len(tok) < 2+k {
			t.Errorf("%s: bad DER length %x", what, tok[:min(len(tok), 6)])
			return
		}
		n = 0
		for _, b := range tok[2 : 2+k] {
			n = n<<8 | int(b)
		}
		hdr += k
	}
	if hdr+n != len(tok) {
		t.Errorf("%s: DER length %d, but %d bytes follow the header", what, n, len(tok)-hdr)
		return
	}
	body := tok[hdr:]
	want := catBytes(krb5OID, tokID[:], []byte{0x60 | app})
	if !bytes.HasPrefix(body, want) {
		t.Errorf("%s: %x..., want %x... (Kerberos OID, TOK_ID %x, [APPLICATION %d])", what, body[:min(len(body), len(want))], want, tokID, app)
	}
}

// checkWrapToken checks an RFC 4121 wrap token without confidentiality
// (05 04 flags ff, EC = checksum size, RRC 0, 8-byte sequence number,
// payload, checksum) and returns its payload. flags must match exactly.
func checkWrapToken(t testing.TB, what string, tok []byte, flags byte) []byte {
	t.Helper()
	const hdr, cksum = 16, 12 // aes*-cts-hmac-sha1-96: a 12-byte checksum
	if len(tok) < hdr+cksum {
		t.Errorf("%s: %x is too short for a wrap token", what, tok)
		return nil
	}
	if tok[0] != 0x05 || tok[1] != 0x04 || tok[2] != flags || tok[3] != 0xff ||
		binary.BigEndian.Uint16(tok[4:]) != cksum || binary.BigEndian.Uint16(tok[6:]) != 0 {
		t.Errorf("%s: header % x, want 05 04 %02x ff 00 0c 00 00 <sequence number>", what, tok[:hdr], flags)
	}
	return tok[hdr : len(tok)-cksum]
}

// checkGSSAPIWire checks the whole SASL GSSAPI exchange as it crossed the
// wire, and returns the client's final (security-layer) token. With dse,
// the exchange starts with "GSSAPI" / "GSSAPI-START".
func checkGSSAPIWire(t testing.TB, w authWire, dse bool, authzid string) []byte {
	t.Helper()
	client, server := w.client, w.server
	if dse {
		if len(client) == 0 || len(server) == 0 ||
			!bytes.Equal(client[0].body, []byte{0, 0, 0, 6, 'G', 'S', 'S', 'A', 'P', 'I'}) ||
			!bytes.Equal(server[0].body, []byte{0, 0, 0, 0x0c, 'G', 'S', 'S', 'A', 'P', 'I', '-', 'S', 'T', 'A', 'R', 'T'}) ||
			server[0].h.Opcode != frame.OpAuthChallenge {
			t.Fatalf("DSE mechanism selection: %d client and %d server envelopes, want \"GSSAPI\" answered by \"GSSAPI-START\" first", len(client), len(server))
		}
		client, server = client[1:], server[1:]
	}
	// C: AP-REQ; S: AP-REP; C: empty; S: layer offer; C: layer choice; S: success.
	ops := func(ms []wireMsg) (s []frame.Opcode) {
		for _, m := range ms {
			s = append(s, m.h.Opcode)
		}
		return s
	}
	wantServer := []frame.Opcode{frame.OpAuthChallenge, frame.OpAuthChallenge, frame.OpAuthSuccess}
	if len(client) != 3 || !slices.Equal(ops(client), []frame.Opcode{frame.OpAuthResponse, frame.OpAuthResponse, frame.OpAuthResponse}) ||
		!slices.Equal(ops(server), wantServer) {
		t.Fatalf("exchange: client %v, server %v; want 3 AUTH_RESPONSEs answered by %v", ops(client), ops(server), wantServer)
	}
	tok := func(m wireMsg) []byte {
		t.Helper()
		if len(m.body) < 4 || int(binary.BigEndian.Uint32(m.body)) != len(m.body)-4 {
			t.Fatalf("%s body %x is not one [bytes]", m.h.Opcode, m.body)
		}
		return m.body[4:]
	}
	checkContextToken(t, "AP-REQ", tok(client[0]), [2]byte{0x01, 0x00}, 14)
	checkContextToken(t, "AP-REP", tok(server[0]), [2]byte{0x02, 0x00}, 15)
	if !bytes.Equal(client[1].body, []byte{0, 0, 0, 0}) {
		t.Errorf("answer to the AP-REP: %x, want an empty token (00 00 00 00)", client[1].body)
	}
	// The server's offer: from the acceptor (0x01), sealed with its subkey
	// (0x04); no security layer (0x01) and a maximum of 65536 bytes.
	if offer := checkWrapToken(t, "server's security-layer offer", tok(server[1]), 0x05); !bytes.Equal(offer, []byte{0x01, 0x01, 0x00, 0x00}) {
		t.Errorf("server's security-layer offer %x, want 01 01 00 00", offer)
	}
	// The client's choice: from the initiator, with the acceptor's subkey
	// (0x04), in the clear: 01 (no security layer), 00 00 00 (maximum
	// size 0), then the authorization id.
	final := tok(client[2])
	if choice := checkWrapToken(t, "client's security-layer choice", final, 0x04); !bytes.Equal(choice, catBytes([]byte{0x01, 0x00, 0x00, 0x00}, []byte(authzid))) {
		t.Errorf("client's security-layer choice %x, want 01 00 00 00 %x (%q)", choice, authzid, authzid)
	}
	if !bytes.Equal(server[2].body, []byte{0xff, 0xff, 0xff, 0xff}) {
		t.Errorf("AUTH_SUCCESS body %x, want a null token", server[2].body)
	}
	return final
}

// TestWireGSSAPI logs in with Kerberos over the native protocol, end to
// end, and checks every token of the SASL GSSAPI exchange on the wire.
//
// Apache Cassandra has no Kerberos authenticator (DSE has one; for Apache
// Cassandra there are only third-party plugins), so the server side here
// is in-process: internal/testserver speaking the native protocol, with
// internal/krbtest's acceptor as its SASL server. The acceptor validates
// the client's AP-REQ with gokrb5's service-side code and the service
// keytab, answers with an AP-REP, and runs the RFC 4752 security-layer
// exchange. The KDC is real: an MIT krb5kdc with a throw-away realm,
// started by krbtest.Start (the test fails instead of skipping without it
// when CI or CQLWIRE_REQUIRE_CASSANDRA is set).
//
// Each credential source (keytab, password, ticket cache from kinit) logs
// in to a plain Kerberos authenticator class, to DseAuthenticator with
// "GSSAPI" selected (testserver.DSE in front of the acceptor, and the
// acceptor's own DSE mode), on v4 and v5; a QUERY then runs on the
// connection, and the server's ConnInfo.User is the client principal.
// The last client token must be a wrap token of 01 00 00 00 + the
// authorization id, and the acceptor must agree on what it decoded.
func TestWireGSSAPI(t *testing.T) {
	kdc := krbtest.Start(t)
	t.Logf("MIT KDC at %s (%v to start)", kdc.Addr, kdc.StartupTime)
	plain := &testserver.Plain{Users: map[string]string{"bob": "bob-pw"}}

	type server struct {
		name string
		srv  *wireServer
		reg  *gssRegistry
		dse  bool
	}
	var servers []server
	{
		reg := newGSSRegistry(t, kdc, nil)
		servers = append(servers, server{"Kerberos class", startWireServer(t, testserver.Options{Authenticator: kerberosClass, NewSASL: reg.newSASL}, nil), reg, false})
	}
	{
		reg := newGSSRegistry(t, kdc, nil)
		servers = append(servers, server{"DSE", startWireServer(t, testserver.Options{Authenticator: testserver.DSEAuthenticator,
			NewSASL: testserver.DSE(map[string]func(*testserver.ConnInfo) testserver.SASLServer{"PLAIN": plain.NewSASL, "GSSAPI": reg.newSASL}, "PLAIN")}, nil), reg, true})
	}
	{
		reg := newGSSRegistry(t, kdc, func(a *krbtest.Acceptor) { a.DSE = true })
		servers = append(servers, server{"DSE acceptor", startWireServer(t, testserver.Options{Authenticator: testserver.DSEAuthenticator, NewSASL: reg.newSASL}, nil), reg, true})
	}

	ccache := kdc.KinitPassword(t, "alice", kdc.UserPassword, "")
	creds := []struct {
		name      string
		cfg       kerberos.Config
		principal string
	}{
		{"keytab", kerberos.Config{KeytabFile: kdc.KeytabUserFile}, kdc.KeytabUser},
		{"password", kerberos.Config{Principal: "alice", Password: auth.Secret(kdc.UserPassword)}, kdc.User},
		{"ccache", kerberos.Config{CCacheFile: "FILE:" + ccache}, kdc.User},
	}
	for _, cr := range creds {
		t.Run(cr.name, func(t *testing.T) {
			for _, sv := range servers {
				for _, v := range []frame.Version{frame.V4, frame.V5} {
					authzid := ""
					if sv.dse {
						authzid = "reporting"
					}
					t.Run(fmt.Sprintf("%s-v%d", sv.name, v), func(t *testing.T) {
						cfg := cr.cfg
						cfg.Krb5ConfigFile, cfg.ServiceName, cfg.AuthorizationID = kdc.Krb5Conf, "cassandra", authzid
						g := newWireGSSAPI(t, cfg)
						var starts atomic.Int32
						tp := &wireTap{}
						wcfg := wireVariant{v, ""}.config(tp, countingAuth{g, &starts})
						wcfg.ServerName = "localhost" // the service principal is cassandra/localhost
						c := dialT(t, sv.srv.Addr(), wcfg)
						id := mustWhoami(t, c, nil)
						wantRole := cr.principal
						if authzid != "" {
							wantRole = authzid
						}
						if id.user != cr.principal || id.role != wantRole {
							t.Errorf("the server sees %q acting as %q, want %q as %q", id.user, id.role, cr.principal, wantRole)
						}
						if starts.Load() != 1 {
							t.Errorf("%d exchanges started", starts.Load())
						}
						w := authExchange(t, tp.only(t), "")
						class := kerberosClass
						if sv.dse {
							class = testserver.DSEAuthenticator
						}
						if w.class != class {
							t.Errorf("AUTHENTICATE %q", w.class)
						}
						final := checkGSSAPIWire(t, w, sv.dse, authzid)
						// What the acceptor made of it, after checking the
						// token's checksum with the acceptor subkey.
						sess := sv.reg.session(id.conn)
						if sess == nil {
							t.Fatalf("no acceptor session for connection %d", id.conn)
						}
						if !sess.Done() || !sess.Mutual() {
							t.Errorf("acceptor: done %v, mutual %v", sess.Done(), sess.Mutual())
						}
						if layer, size := sess.Chosen(); layer != 0x01 || size != 0 {
							t.Errorf("the acceptor decoded security layer %#02x, maximum size %d from %x; want 0x01 and 0", layer, size, final)
						}
						if got := sess.AuthorizationID(); got != authzid {
							t.Errorf("the acceptor decoded authorization id %q, want %q", got, authzid)
						}
						if user, role := sess.Identity(); user != id.user || role != id.role {
							t.Errorf("acceptor identity %q/%q, ConnInfo %q/%q", user, role, id.user, id.role)
						}
					})
				}
			}
		})
	}

	t.Run("service host from the address", func(t *testing.T) {
		// Dialling localhost:port with no ServerName: the service
		// principal comes from the host dialled.
		_, port, _ := net.SplitHostPort(servers[0].srv.Addr())
		addrs, err := net.LookupHost("localhost")
		if err != nil || !slices.Contains(addrs, "127.0.0.1") {
			t.Skipf("localhost does not resolve to 127.0.0.1 here (%v, %v)", addrs, err)
		}
		g := newWireGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		c := dialT(t, net.JoinHostPort("localhost", port), &Config{Authenticator: g, DialTimeout: 15 * time.Second})
		if id := mustWhoami(t, c, nil); id.user != kdc.KeytabUser {
			t.Errorf("user %q", id.user)
		}
	})

	t.Run("proxy login refused", func(t *testing.T) {
		sv := servers[1]
		g := newWireGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra", AuthorizationID: "forbidden"})
		tp := &wireTap{}
		cfg := wireVariant{frame.V5, ""}.config(tp, g)
		cfg.ServerName = "localhost"
		_, err := dialFails(t, sv.srv.Addr(), cfg)
		var fe *frame.Error
		if !errors.As(err, &fe) || fe.Code != frame.CodeAuthenticationError ||
			!strings.Contains(fe.Message, kdc.KeytabUser+" may not act as forbidden") {
			t.Fatalf("Dial: %v, want the acceptor's refusal", err)
		}
		w := authExchange(t, tp.only(t), "")
		if n := len(w.client); n != 4 {
			t.Errorf("%d AUTH_RESPONSEs, want 4 (GSSAPI, AP-REQ, empty, layer choice)", n)
		} else if choice := checkWrapToken(t, "layer choice", w.client[3].body[4:], 0x04); !bytes.Equal(choice, []byte("\x01\x00\x00\x00forbidden")) {
			t.Errorf("layer choice %x", choice)
		}
		t.Log(err)
	})
}

// kdcLogCount counts the lines of the KDC's log that contain all of words.
func kdcLogCount(kdc *krbtest.KDC, words ...string) int {
	n := 0
	for _, line := range strings.Split(kdc.Log(), "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			n++
		}
	}
	return n
}

// replayAuth sends the initial token of an exchange started earlier: the
// AP-REQ of a ticket that has expired since.
type replayAuth struct {
	x     auth.Exchange
	token []byte
}

func (r replayAuth) Start(context.Context, auth.ServerInfo) (auth.Exchange, []byte, error) {
	return r.x, r.token, nil
}

// TestWireKerberosFailures: the ways a Kerberos login fails, over the
// native protocol against the in-process Kerberos server (Apache Cassandra
// has none; see TestWireGSSAPI) and a real MIT KDC. Each gives Dial a
// clear error (the principal, the Kerberos code and reason, never the
// password) after exactly one attempt: one exchange, one connection, one
// login at the KDC.
func TestWireKerberosFailures(t *testing.T) {
	kdc := krbtest.Start(t)
	reg := newGSSRegistry(t, kdc, nil)
	srv := startWireServer(t, testserver.Options{Authenticator: kerberosClass, NewSASL: reg.newSASL}, nil)
	// An acceptor that allows little clock skew, so that an expired
	// service ticket is refused soon after it expires.
	strictReg := newGSSRegistry(t, kdc, func(a *krbtest.Acceptor) { a.MaxClockSkew = 500 * time.Millisecond })
	strict := startWireServer(t, testserver.Options{Authenticator: kerberosClass, NewSASL: strictReg.newSASL}, nil)

	// dial fails a Kerberos login and checks there was one attempt.
	dial := func(t *testing.T, srv *wireServer, a auth.Authenticator) (authWire, error) {
		t.Helper()
		var starts atomic.Int32
		tp := &wireTap{}
		cfg := wireVariant{frame.V5, ""}.config(tp, countingAuth{a, &starts})
		cfg.ServerName = "localhost"
		before := srv.Stats().Accepted
		_, err := dialFails(t, srv.Addr(), cfg)
		if n := starts.Load(); n != 1 {
			t.Errorf("%d exchanges started, want 1", n)
		}
		if n := srv.Stats().Accepted - before; n != 1 {
			t.Errorf("%d connections, want 1", n)
		}
		w := authExchange(t, tp.only(t), "")
		if w.class != kerberosClass {
			t.Errorf("AUTHENTICATE %q", w.class)
		}
		waitFor(t, func() bool { return srv.Stats().Open == 0 })
		t.Log(err)
		return w, err
	}
	wantKerberos := func(t *testing.T, err error, code int32, name, principal string) *kerberos.Error {
		t.Helper()
		var ke *kerberos.Error
		if !errors.As(err, &ke) {
			t.Fatalf("Dial: %v, want a *kerberos.Error", err)
		}
		if ke.Code != code || ke.Name != name || ke.Principal != principal {
			t.Errorf("KerberosError code %d %q principal %q, want %d %q %q", ke.Code, ke.Name, ke.Principal, code, name, principal)
		}
		for _, s := range []string{principal, name, kerberosClass} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("the error does not say %q: %v", s, err)
			}
		}
		return ke
	}
	// onKDC waits for the KDC to log n lines with words, and checks it
	// logs no more.
	onKDC := func(t *testing.T, n int, words ...string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for kdcLogCount(kdc, words...) < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		if got := kdcLogCount(kdc, words...); got != n {
			t.Errorf("the KDC logged %d lines with %q, want %d:\n%s", got, words, n, kdc.Log())
		}
	}

	t.Run("stale keytab", func(t *testing.T) {
		kdc.AddPrincipal(t, "carol", "")
		kt := kdc.ExportKeytab(t, "carol")
		kdc.RandomizeKey(t, "carol") // the keytab now holds the previous key
		g := newWireGSSAPI(t, kerberos.Config{KeytabFile: kt, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		w, err := dial(t, srv, g)
		wantKerberos(t, err, 24, "KDC_ERR_PREAUTH_FAILED", "carol@"+kdc.Realm)
		if !strings.Contains(err.Error(), kt) || !strings.Contains(err.Error(), "stale") {
			t.Errorf("the error should name the keytab and suggest a stale key: %v", err)
		}
		if len(w.client) != 0 {
			t.Errorf("%d AUTH_RESPONSEs sent after a failed KDC login", len(w.client))
		}
		onKDC(t, 1, "PREAUTH_FAILED", "carol@"+kdc.Realm)
	})

	t.Run("wrong password", func(t *testing.T) {
		const wrong = "not-alices-Pa55"
		g := newWireGSSAPI(t, kerberos.Config{Principal: "alice", Password: wrong, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		w, err := dial(t, srv, g)
		wantKerberos(t, err, 24, "KDC_ERR_PREAUTH_FAILED", kdc.User)
		noSecret(t, err, wrong)
		if len(w.client) != 0 {
			t.Errorf("%d AUTH_RESPONSEs sent after a failed KDC login", len(w.client))
		}
		onKDC(t, 1, "PREAUTH_FAILED", kdc.User)
	})

	t.Run("stale service keytab", func(t *testing.T) {
		// The server's keytab is stale: the acceptor cannot decrypt the
		// ticket, and says so through an Authentication_error.
		kdc.AddPrincipal(t, "cassandra/stale.localhost", "")
		kt := kdc.ExportKeytab(t, "cassandra/stale.localhost")
		kdc.RandomizeKey(t, "cassandra/stale.localhost")
		acc, err := krbtest.LoadAcceptor(kt, "")
		if err != nil {
			t.Fatal(err)
		}
		staleSrv := startWireServer(t, testserver.Options{Authenticator: kerberosClass,
			NewSASL: func(*testserver.ConnInfo) testserver.SASLServer { return acc.NewSession() }}, nil)
		g := newWireGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra", ServiceHost: "stale.localhost"})
		w, err := dial(t, staleSrv, g)
		var fe *frame.Error
		if !errors.As(err, &fe) || fe.Code != frame.CodeAuthenticationError ||
			!strings.Contains(fe.Message, "AP-REQ for cassandra/stale.localhost@"+kdc.Realm+" rejected") {
			t.Errorf("Dial: %v, want the acceptor's rejection of the AP-REQ", err)
		}
		if len(w.client) != 1 || len(w.server) != 1 || w.server[0].h.Opcode != frame.OpError {
			t.Errorf("%d AUTH_RESPONSEs answered by %d messages, want one AP-REQ answered by an ERROR", len(w.client), len(w.server))
		}
	})

	t.Run("expired tickets", func(t *testing.T) {
		// A ticket cache whose TGT lives one second (kinit -l 1s), and an
		// AP-REQ made with a service ticket of a principal whose tickets
		// live two seconds (kadmin -maxlife), presented once it expired.
		cc := kdc.KinitPassword(t, "alice", kdc.UserPassword, "1s")
		tgtGone := time.Now().Add(2 * time.Second) // the TGT ends at most 1 s after kinit returned
		expiredCache := newWireGSSAPI(t, kerberos.Config{CCacheFile: cc, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		kdc.AddPrincipal(t, "shortlived", "short-Pa55", "-maxlife", "2 seconds")
		short := newWireGSSAPI(t, kerberos.Config{Principal: "shortlived", Password: "short-Pa55", Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra"})
		x, apReq, err := short.Start(context.Background(), auth.ServerInfo{Authenticator: kerberosClass, Host: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		// The service ticket ends at most 2 s after Start returned; the
		// strict acceptor allows 0.5 s of skew. Kerberos times have a
		// resolution of one second.
		ticketGone := time.Now().Add(3 * time.Second)
		if tgtGone.After(ticketGone) {
			ticketGone = tgtGone
		}
		time.Sleep(time.Until(ticketGone))

		t.Run("ticket cache", func(t *testing.T) {
			w, err := dial(t, srv, expiredCache)
			wantKerberos(t, err, 32, "KRB_AP_ERR_TKT_EXPIRED", kdc.User)
			if !strings.Contains(err.Error(), "expired at") || !strings.Contains(err.Error(), cc) {
				t.Errorf("the error should say when the ticket of which cache expired: %v", err)
			}
			if len(w.client) != 0 {
				t.Errorf("%d AUTH_RESPONSEs sent with an expired ticket", len(w.client))
			}
		})
		t.Run("service ticket", func(t *testing.T) {
			w, err := dial(t, strict, replayAuth{x, apReq})
			var fe *frame.Error
			if !errors.As(err, &fe) || fe.Code != frame.CodeAuthenticationError ||
				!strings.Contains(fe.Message, "KRB_AP_ERR_TKT_EXPIRED") || !strings.Contains(fe.Message, kdc.ServicePrincipal) {
				t.Errorf("Dial: %v, want the acceptor's KRB_AP_ERR_TKT_EXPIRED for %s", err, kdc.ServicePrincipal)
			}
			if len(w.client) != 1 || !bytes.Equal(w.client[0].body, bytesBody(apReq)) {
				t.Errorf("%d AUTH_RESPONSEs, want the one AP-REQ", len(w.client))
			}
		})
	})
}
