package testserver

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/wiretest"
)

func start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func dialWire(t *testing.T, s *Server, opts wiretest.Options) *wiretest.Client {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = ioTimeout
	}
	c, err := wiretest.Dial(context.Background(), s.Addr(), opts)
	if err != nil {
		t.Fatalf("dial %+v: %v", opts, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rowsOf(t *testing.T, e *frame.Envelope) *frame.Rows {
	t.Helper()
	rows, ok := e.Message.(*frame.Rows)
	if !ok {
		t.Fatalf("got %s, want rows", frame.DescribeMessage(e.Message))
	}
	return rows
}

func firstRow(t *testing.T, rows *frame.Rows) [][]byte {
	t.Helper()
	it := rows.Iter()
	cells, ok := it.Next(nil)
	if !ok {
		t.Fatal("no row")
	}
	return cells
}

type variant struct {
	v    frame.Version
	comp string
}

func (v variant) String() string {
	if v.comp == "" {
		return fmt.Sprintf("v%d", v.v)
	}
	return fmt.Sprintf("v%d+%s", v.v, v.comp)
}

var variants = []variant{{frame.V4, ""}, {frame.V4, "lz4"}, {frame.V4, "snappy"}, {frame.V5, ""}, {frame.V5, "lz4"}}

// TestAnsweringMachine runs every request type through the answering
// machine in each version and compression, with wiretest as the client.
func TestAnsweringMachine(t *testing.T) {
	s := start(t, Options{})
	for _, vr := range variants {
		t.Run(vr.String(), func(t *testing.T) {
			c := dialWire(t, s, wiretest.Options{Version: vr.v, Compression: vr.comp})
			if got := c.Supported.Options["PROTOCOL_VERSIONS"]; strings.Join(got, ",") != "4/v4,5/v5" {
				t.Errorf("PROTOCOL_VERSIONS %v", got)
			}
			if got := c.Supported.Options["COMPRESSION"]; strings.Join(got, ",") != "lz4,snappy" {
				t.Errorf("COMPRESSION %v", got)
			}
			e, err := c.Query("SELECT v FROM t")
			if err != nil {
				t.Fatal(err)
			}
			rows := rowsOf(t, e)
			if rows.RowCount != 1 || rows.Metadata.Columns[0].Name != "v" || !bytes.Equal(firstRow(t, rows)[0], []byte{0, 0, 0, 1}) {
				t.Fatalf("canned rows: %s", frame.DescribeMessage(rows))
			}
			// Skip-metadata gets the rows without column specs.
			e, err = c.Do(&frame.Query{Query: "SELECT v FROM t", Params: frame.QueryParams{Consistency: frame.One, SkipMetadata: true}})
			if err != nil {
				t.Fatal(err)
			}
			if m := rowsOf(t, e).Metadata; m.Flags&frame.MetaNoMetadata == 0 || m.ColumnCount != 1 || m.Columns != nil {
				t.Fatalf("skip metadata: %+v", m)
			}
			// OPTIONS after STARTUP: framed and compressed as negotiated.
			if e, err = c.Do(&frame.Options{}); err != nil || e.Message.Opcode() != frame.OpSupported {
				t.Fatalf("OPTIONS: %v %v", e, err)
			}
			// USE
			if e, err = c.Query(`USE "MyKs"`); err != nil || e.Message.(*frame.SetKeyspace).Keyspace != "MyKs" {
				t.Fatalf("USE: %v %v", e, err)
			}
			// PREPARE / EXECUTE
			e, err = c.Do(&frame.Prepare{Query: "INSERT INTO t (a, b, c) VALUES (?, ?, 'it''s ?') -- ?"})
			if err != nil {
				t.Fatal(err)
			}
			p := e.Message.(*frame.Prepared)
			if len(p.ID) != 16 || len(p.Params.Columns) != 2 || (vr.v == frame.V5) != (p.ResultMetadataID != nil) {
				t.Fatalf("prepared: %s", frame.DescribeMessage(p))
			}
			vals := []frame.Value{{Bytes: []byte("a")}, {Bytes: []byte("b")}}
			ex := &frame.Execute{ID: p.ID, ResultMetadataID: p.ResultMetadataID, Params: frame.QueryParams{Consistency: frame.One, Values: vals, SkipMetadata: true}}
			if e, err = c.Do(ex); err != nil || rowsOf(t, e).RowCount != 1 {
				t.Fatalf("EXECUTE: %v %v", e, err)
			}
			// Unknown id: Unprepared.
			bad := &frame.Execute{ID: []byte("nope"), ResultMetadataID: p.ResultMetadataID, Params: frame.QueryParams{Consistency: frame.One}}
			_, err = c.Do(bad)
			var un *frame.Unprepared
			if !errors.As(err, &un) || string(un.ID) != "nope" {
				t.Fatalf("EXECUTE unknown: %v", err)
			}
			// BATCH
			b := &frame.Batch{Type: frame.BatchLogged, Consistency: frame.One, Statements: []frame.BatchStatement{
				{Query: "INSERT INTO t (a) VALUES (1)"}, {ID: p.ID, Values: vals}}}
			if e, err = c.Do(b); err != nil || e.Message.Opcode() != frame.OpResult {
				t.Fatalf("BATCH: %v %v", e, err)
			}
			if _, ok := e.Message.(*frame.Void); !ok {
				t.Fatalf("BATCH: %s", frame.DescribeMessage(e.Message))
			}
			b.Statements[1].ID = []byte("nope")
			if _, err = c.Do(b); !errors.As(err, &un) {
				t.Fatalf("BATCH unknown: %v", err)
			}
			// REGISTER
			if e, err = c.Do(&frame.Register{EventTypes: []string{frame.EventStatusChange}}); err != nil || e.Message.Opcode() != frame.OpReady {
				t.Fatalf("REGISTER: %v %v", e, err)
			}
		})
	}
}

// TestEcho matches answers to requests by content, with values large
// enough to span several v5 segments both ways.
func TestEcho(t *testing.T) {
	s := start(t, Options{Echo: true})
	big := bytes.Repeat([]byte("0123456789abcdef"), 200_000/16)
	for _, vr := range variants {
		t.Run(vr.String(), func(t *testing.T) {
			c := dialWire(t, s, wiretest.Options{Version: vr.v, Compression: vr.comp})
			e, err := c.Query("SELECT now() FROM system.local")
			if err != nil {
				t.Fatal(err)
			}
			rows := rowsOf(t, e)
			if rows.Metadata.Columns[0].Name != "query" || string(firstRow(t, rows)[0]) != "SELECT now() FROM system.local" {
				t.Fatalf("echo query: %s", frame.DescribeMessage(rows))
			}
			e, err = c.Query("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", frame.Value{Bytes: []byte("x")}, frame.Value{}, frame.Value{Bytes: big})
			if err != nil {
				t.Fatal(err)
			}
			cells := firstRow(t, rowsOf(t, e))
			if len(cells) != 3 || string(cells[0]) != "x" || cells[1] != nil || !bytes.Equal(cells[2], big) {
				t.Fatalf("echo values: %d cells", len(cells))
			}
			e, err = c.Do(&frame.Prepare{Query: "SELECT * FROM t WHERE k = :k"})
			if err != nil {
				t.Fatal(err)
			}
			p := e.Message.(*frame.Prepared)
			if len(p.Result.Columns) != 1 || p.Result.Columns[0].Name != "v0" {
				t.Fatalf("prepared result metadata: %s", frame.DescribeMessage(p))
			}
			e, err = c.Do(&frame.Execute{ID: p.ID, ResultMetadataID: p.ResultMetadataID,
				Params: frame.QueryParams{Consistency: frame.One, Values: []frame.Value{{Bytes: []byte("k1")}}}})
			if err != nil {
				t.Fatal(err)
			}
			if cells := firstRow(t, rowsOf(t, e)); string(cells[0]) != "k1" {
				t.Fatalf("echo execute: %q", cells)
			}
		})
	}
}

func TestStrict(t *testing.T) {
	s := start(t, Options{Strict: true})
	c := dialRaw(t, s.Addr(), frame.V4)
	c.ready("")
	// A QUERY whose body ends early: a Protocol_error on its stream, and the
	// connection keeps working.
	body := []byte{0, 0, 0, 1, 'x', 0, 1} // query "x", consistency ONE, no flags byte
	raw := frame.AppendHeader(nil, frame.Header{Version: frame.V4, Stream: 7, Opcode: frame.OpQuery, Length: len(body)})
	c.write(append(raw, body...))
	e := c.recv()
	if fe, ok := e.Message.(*frame.Error); !ok || fe.Code != frame.CodeProtocolError || e.Stream != 7 {
		t.Fatalf("got %s on stream %d", frame.DescribeMessage(e.Message), e.Stream)
	}
	if e := c.do(8, &frame.Query{Query: "x", Params: frame.QueryParams{Consistency: frame.One}}); e.Message.Opcode() != frame.OpResult {
		t.Fatalf("got %s", frame.DescribeMessage(e.Message))
	}
}

// TestHandshakeErrors checks what the server answers out-of-order and
// malformed handshake messages, as Cassandra does.
func TestHandshakeErrors(t *testing.T) {
	s := start(t, Options{Compressions: []string{"lz4"}})
	wantErr := func(t *testing.T, e *frame.Envelope, code frame.ErrorCode, text string) {
		t.Helper()
		fe, ok := e.Message.(*frame.Error)
		if !ok || fe.Code != code || !strings.Contains(fe.Message, text) {
			t.Fatalf("got %s, want %v %q", frame.DescribeMessage(e.Message), code, text)
		}
	}
	c := dialRaw(t, s.Addr(), frame.V4)
	wantErr(t, c.do(3, &frame.Query{Query: "x"}), frame.CodeProtocolError, "Unexpected message QUERY, expecting STARTUP or OPTIONS")
	wantErr(t, c.do(4, &frame.Startup{Options: map[string]string{}}), frame.CodeProtocolError, "Missing value CQL_VERSION")
	wantErr(t, c.do(5, frame.NewStartup("snappy", "", "")), frame.CodeProtocolError, "Unknown compression algorithm: snappy")
	wantErr(t, c.do(6, &frame.Ready{}), frame.CodeProtocolError, "Wrong protocol direction")
	c.ready("")
	wantErr(t, c.do(7, frame.NewStartup("", "", "")), frame.CodeProtocolError, "already initialized")
	// A message in another version after STARTUP.
	c.v = frame.V5
	wantErr(t, c.do(8, &frame.Options{}), frame.CodeProtocolError, "Invalid message version")
}

// TestVersionNegotiation: a request in a version the server does not speak
// gets Cassandra's Protocol_error, on stream 0, in the version Cassandra
// would choose; then the connection is closed.
func TestVersionNegotiation(t *testing.T) {
	cases := []struct {
		name     string
		server   []frame.Version
		client   byte
		wantVer  frame.Version
		wantText string
	}{
		{"v5 to a v4 server", []frame.Version{frame.V4}, 5, frame.V4, "Invalid or unsupported protocol version (5); supported versions are (4/v4)"},
		{"v4 to a v5 server", []frame.Version{frame.V5}, 4, frame.V4, "Invalid or unsupported protocol version (4); supported versions are (5/v5)"},
		{"v3", []frame.Version{frame.V4, frame.V5}, 3, frame.V3, "Invalid or unsupported protocol version (3); supported versions are (4/v4, 5/v5)"},
		{"v6", []frame.Version{frame.V4, frame.V5}, 6, frame.V5, "Invalid or unsupported protocol version (6)"},
		{"DSE v1 (0x41)", []frame.Version{frame.V4, frame.V5}, 0x41, frame.V5, "Invalid or unsupported protocol version (65)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Options{Versions: tc.server})
			c := dialRaw(t, s.Addr(), frame.V4)
			// A STARTUP with a body, in two writes: the whole frame is skipped.
			raw := c.encode(9, frame.NewStartup("", "", ""))
			raw[0] = tc.client
			c.write(raw[:12])
			time.Sleep(10 * time.Millisecond)
			c.write(raw[12:])
			e := c.recv()
			fe, ok := e.Message.(*frame.Error)
			if !ok || fe.Code != frame.CodeProtocolError || e.Version != tc.wantVer || e.Stream != 0 || !strings.Contains(fe.Message, tc.wantText) {
				t.Fatalf("got v%d stream %d %s", e.Version, e.Stream, frame.DescribeMessage(e.Message))
			}
			// The connection stays open: start over in a supported version.
			c.v = tc.server[len(tc.server)-1:][0]
			c.ready("")
		})
	}
	// wiretest's v5 handshake against a v4-only server fails with that error.
	s := start(t, Options{Versions: []frame.Version{frame.V4}})
	_, err := wiretest.Dial(context.Background(), s.Addr(), wiretest.Options{Version: frame.V5, Timeout: 300 * time.Millisecond})
	if err == nil {
		t.Fatal("v5 handshake with a v4-only server succeeded")
	}
	// wiretest waits for the answer on its own stream id; Cassandra (and
	// this server) answers on stream 0, so wiretest times out.
	t.Logf("wiretest v5 against v4-only: %v", err)
	dialWire(t, s, wiretest.Options{Version: frame.V4})
}

func TestFrameTooLarge(t *testing.T) {
	s := start(t, Options{MaxFrameSize: 1000})
	c := dialRaw(t, s.Addr(), frame.V4)
	c.ready("")
	c.send(3, &frame.Query{Query: strings.Repeat("x", 2000)})
	b := c.expectEOF()
	e, _, err := frame.DecodeEnvelope(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fe, ok := e.Message.(*frame.Error); !ok || e.Stream != 3 || !strings.Contains(fe.Message, "Request is too big") {
		t.Fatalf("got %s", frame.DescribeMessage(e.Message))
	}
}

func TestV5BadSegmentFromClient(t *testing.T) {
	s := start(t, Options{})
	c := dialRaw(t, s.Addr(), frame.V5)
	c.ready("")
	seg, _ := c.segw.Append(nil, c.encode(2, &frame.Options{}))
	seg[len(seg)-1] ^= 0xFF // payload CRC32
	c.nc.Write(seg)
	c.seg = false // the error goes out in a segment; read it raw
	b := c.expectEOF()
	c.seg, c.rbuf = true, b
	e := c.recv()
	if fe, ok := e.Message.(*frame.Error); !ok || !strings.Contains(fe.Message, "crc32") {
		t.Fatalf("got %s", frame.DescribeMessage(e.Message))
	}
}

func TestPlainAuth(t *testing.T) {
	plain := &Plain{Users: map[string]string{"cassandra": "cassandra"}}
	s := start(t, Options{Authenticator: PasswordAuthenticator, NewSASL: plain.NewSASL})
	for _, vr := range variants {
		t.Run(vr.String(), func(t *testing.T) {
			c := dialWire(t, s, wiretest.Options{Version: vr.v, Compression: vr.comp, Username: "cassandra", Password: "cassandra"})
			if _, err := c.Query("SELECT 1"); err != nil {
				t.Fatal(err)
			}
			_, err := wiretest.Dial(context.Background(), s.Addr(), wiretest.Options{Version: vr.v, Compression: vr.comp,
				Username: "cassandra", Password: "wrong", Timeout: ioTimeout})
			var fe *frame.Error
			if !errors.As(err, &fe) || fe.Code != frame.CodeAuthenticationError ||
				fe.Message != "Provided username cassandra and/or password are incorrect" {
				t.Fatalf("bad password: %v", err)
			}
		})
	}
	// Before authentication, requests are refused; after a failed attempt
	// the client may try again on the same connection.
	c := dialRaw(t, s.Addr(), frame.V4)
	e := c.startup("")
	if a, ok := e.Message.(*frame.Authenticate); !ok || a.Authenticator != PasswordAuthenticator {
		t.Fatalf("got %s", frame.DescribeMessage(e.Message))
	}
	if fe, ok := c.do(2, &frame.Query{Query: "x"}).Message.(*frame.Error); !ok || !strings.Contains(fe.Message, "expecting SASL_RESPONSE") {
		t.Fatalf("query before auth: %v", fe)
	}
	if fe, ok := c.do(3, &frame.AuthResponse{Token: []byte("\x00cassandra\x00nope")}).Message.(*frame.Error); !ok || fe.Code != frame.CodeAuthenticationError {
		t.Fatalf("bad password: %v", fe)
	}
	if e := c.do(4, &frame.AuthResponse{Token: []byte("\x00cassandra\x00cassandra")}); e.Message.Opcode() != frame.OpAuthSuccess {
		t.Fatalf("got %s", frame.DescribeMessage(e.Message))
	}
	if tok := c.do(5, &frame.AuthResponse{Token: nil}).Message.(*frame.Error); !strings.Contains(tok.Message, "already initialized") {
		t.Fatalf("auth after success: %v", tok)
	}
}

// gssapiFake stands in for the Kerberos acceptor: two challenges, then
// success with a token, recording what it was given.
type gssapiFake struct {
	steps [][]byte
}

func (g *gssapiFake) Step(token []byte) ([]byte, bool, []byte, error) {
	g.steps = append(g.steps, append([]byte(nil), token...))
	switch len(g.steps) {
	case 1:
		return []byte("ap-rep"), false, nil, nil
	case 2:
		return []byte("wrap(qop)"), false, nil, nil
	default:
		if string(token) != "wrap(qop-reply)" {
			return nil, false, nil, errors.New("bad security layer")
		}
		return nil, true, []byte("fin"), nil
	}
}

func (g *gssapiFake) Identity() (string, string) { return "alice@EXAMPLE.COM", "alice" }

func TestDSEAuth(t *testing.T) {
	plain := &Plain{Users: map[string]string{"alice": "pw", "bob": "pw2"}, Proxy: map[string][]string{"alice": {"reports"}}}
	var gss atomic.Pointer[gssapiFake]
	var who atomic.Value
	s := start(t, Options{
		Authenticator: DSEAuthenticator,
		NewSASL: DSE(map[string]func(*ConnInfo) SASLServer{
			"PLAIN":  plain.NewSASL,
			"GSSAPI": func(*ConnInfo) SASLServer { g := &gssapiFake{}; gss.Store(g); return g },
		}, "PLAIN"),
		Handler: func(req *Request) Reply {
			if req.Header.Opcode == frame.OpQuery {
				who.Store(req.Conn.User + "/" + req.Conn.Role)
			}
			return req.Default()
		},
	})
	type step struct {
		send string // AUTH_RESPONSE token
		want string // "challenge:<token>", "success", "error:<text>"
	}
	cases := []struct {
		name  string
		steps []step
		who   string
	}{
		{"PLAIN", []step{{"PLAIN", "challenge:PLAIN-START"}, {"\x00alice\x00pw", "success"}}, "alice/alice"},
		{"PLAIN proxy", []step{{"PLAIN", "challenge:PLAIN-START"}, {"reports\x00alice\x00pw", "success"}}, "alice/reports"},
		{"PLAIN proxy denied", []step{{"PLAIN", "challenge:PLAIN-START"}, {"reports\x00bob\x00pw2", "error:bob is not authorized to log in as reports"}}, ""},
		{"PLAIN wrong password", []step{{"PLAIN", "challenge:PLAIN-START"}, {"\x00alice\x00nope", "error:Provided username alice and/or password are incorrect"}}, ""},
		{"legacy PasswordAuthenticator client", []step{{"\x00bob\x00pw2", "success"}}, "bob/bob"},
		{"GSSAPI", []step{{"GSSAPI", "challenge:GSSAPI-START"}, {"ap-req", "challenge:ap-rep"}, {"", "challenge:wrap(qop)"}, {"wrap(qop-reply)", "success:fin"}}, "alice@EXAMPLE.COM/alice"},
	}
	for _, v := range []frame.Version{frame.V4, frame.V5} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("v%d/%s", v, tc.name), func(t *testing.T) {
				c := dialRaw(t, s.Addr(), v)
				if a := c.startup("").Message.(*frame.Authenticate); a.Authenticator != DSEAuthenticator {
					t.Fatalf("authenticator %q", a.Authenticator)
				}
				for i, st := range tc.steps {
					e := c.do(int16(10+i), &frame.AuthResponse{Token: []byte(st.send)})
					var got string
					switch m := e.Message.(type) {
					case *frame.AuthChallenge:
						got = "challenge:" + string(m.Token)
					case *frame.AuthSuccess:
						got = "success"
						if m.Token != nil {
							got += ":" + string(m.Token)
						}
					case *frame.Error:
						if m.Code != frame.CodeAuthenticationError {
							t.Fatalf("error code %v", m.Code)
						}
						got = "error:" + m.Message
					}
					if got != st.want {
						t.Fatalf("step %d: got %q, want %q", i, got, st.want)
					}
				}
				if tc.who == "" {
					return
				}
				c.do(99, &frame.Query{Query: "SELECT 1"})
				if got := who.Load(); got != tc.who {
					t.Fatalf("identity %v, want %s", got, tc.who)
				}
				if tc.name == "GSSAPI" {
					if steps := gss.Load().steps; len(steps) != 3 || string(steps[0]) != "ap-req" {
						t.Fatalf("GSSAPI steps %q", steps)
					}
				}
			})
		}
	}
	// Without a legacy mechanism, a first token naming no mechanism fails.
	s2 := start(t, Options{Authenticator: DSEAuthenticator, NewSASL: DSE(map[string]func(*ConnInfo) SASLServer{"PLAIN": plain.NewSASL}, "")})
	c := dialRaw(t, s2.Addr(), frame.V4)
	c.startup("")
	if fe, ok := c.do(2, &frame.AuthResponse{Token: []byte("\x00alice\x00pw")}).Message.(*frame.Error); !ok || !strings.Contains(fe.Message, "unknown authentication mechanism") {
		t.Fatalf("got %v", fe)
	}
}

func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "testserver"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func TestTLS(t *testing.T) {
	cfg, pool := selfSigned(t)
	var sawTLS atomic.Bool
	s := start(t, Options{TLS: cfg, Handler: func(req *Request) Reply {
		if req.Conn.TLS != nil && req.Conn.TLS.HandshakeComplete {
			sawTLS.Store(true)
		}
		return req.Default()
	}})
	for _, vr := range []variant{{frame.V4, "lz4"}, {frame.V5, "lz4"}} {
		c := dialWire(t, s, wiretest.Options{Version: vr.v, Compression: vr.comp, TLS: &tls.Config{RootCAs: pool}})
		if _, err := c.Query("SELECT 1"); err != nil {
			t.Fatal(err)
		}
	}
	if !sawTLS.Load() {
		t.Fatal("handler saw no TLS state")
	}
	// A plain-TCP client gets nothing useful and is dropped by the handshake.
	c := dialRaw(t, s.Addr(), frame.V4)
	c.send(0, &frame.Options{})
	c.expectEOF()
}

// TestPipelined writes many requests at once and checks each answer comes on
// its stream, in every framing.
func TestPipelined(t *testing.T) {
	s := start(t, Options{Echo: true})
	for _, vr := range variants {
		t.Run(vr.String(), func(t *testing.T) {
			c := dialRaw(t, s.Addr(), vr.v)
			c.ready(vr.comp)
			const n = 3000
			var envs [][]byte
			for i := range n {
				envs = append(envs, c.encode(int16(i), &frame.Query{Query: fmt.Sprint("q", i), Params: frame.QueryParams{Consistency: frame.One}}))
			}
			go c.write(envs...)
			seen := make([]bool, n)
			for range n {
				e := c.recv()
				cells := firstRow(t, rowsOf(t, e))
				if string(cells[0]) != fmt.Sprint("q", e.Stream) || seen[e.Stream] {
					t.Fatalf("stream %d answered %q", e.Stream, cells[0])
				}
				seen[e.Stream] = true
			}
		})
	}
	if st := s.Stats(); st.Requests < 5*3000 || st.Accepted != 5 {
		t.Fatalf("stats %+v", st)
	}
}

func TestHandlerPanic(t *testing.T) {
	s := start(t, Options{Handler: func(req *Request) Reply {
		if req.Header.Opcode == frame.OpQuery {
			panic("boom")
		}
		return req.Default()
	}})
	c := dialRaw(t, s.Addr(), frame.V4)
	c.ready("")
	if fe, ok := c.do(2, &frame.Query{Query: "x"}).Message.(*frame.Error); !ok || fe.Code != frame.CodeServerError || !strings.Contains(fe.Message, "boom") {
		t.Fatalf("got %v", fe)
	}
}

func TestResetPrepared(t *testing.T) {
	s := start(t, Options{})
	c := dialWire(t, s, wiretest.Options{Version: frame.V4})
	e, err := c.Do(&frame.Prepare{Query: "SELECT * FROM t WHERE k = ?"})
	if err != nil {
		t.Fatal(err)
	}
	ex := &frame.Execute{ID: e.Message.(*frame.Prepared).ID, Params: frame.QueryParams{Consistency: frame.One, Values: []frame.Value{{Bytes: []byte{1}}}}}
	if _, err := c.Do(ex); err != nil {
		t.Fatal(err)
	}
	s.ResetPrepared()
	var un *frame.Unprepared
	if _, err := c.Do(ex); !errors.As(err, &un) {
		t.Fatalf("after reset: %v", err)
	}
}

func TestCountMarkers(t *testing.T) {
	for q, want := range map[string]int{
		"SELECT * FROM t":                                      0,
		"SELECT * FROM t WHERE a = ? AND b = ?":                2,
		"INSERT INTO t (a, b) VALUES (:a, :b_2)":               2,
		"SELECT '?', \"?\" FROM t WHERE a = ?":                 1,
		"SELECT 'it''s ?' FROM t WHERE a = ? -- ?\n AND b = ?": 2,
		"SELECT $$ ? $$ /* ? */ FROM t WHERE m = {1:2}":        0,
		"UPDATE t SET m = m + ? WHERE k = ? IF x = ?;":         3,
	} {
		if got := countMarkers(q); got != want {
			t.Errorf("%q: %d markers, want %d", q, got, want)
		}
	}
}

// TestCloseLeaksNothing: Close returns with every goroutine gone, even with
// delayed replies pending and connections mid-request.
func TestCloseLeaksNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := Start(Options{Handler: func(req *Request) Reply {
		rep := req.Default()
		if req.Header.Opcode == frame.OpQuery {
			rep.Delay = time.Hour
		}
		return rep
	}})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		c := dialRaw(t, s.Addr(), frame.V5)
		c.ready("lz4")
		c.send(2, &frame.Query{Query: "x"})
	}
	time.Sleep(50 * time.Millisecond) // let the queries arrive
	done := make(chan error)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
	if st := s.Stats(); st.Open != 0 || st.Accepted != 5 || st.Requests != 15 {
		t.Fatalf("stats after close %+v", st)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Fatal("still listening")
	}
}
