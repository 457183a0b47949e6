package conn

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
)

// These tests run against the real Cassandra 5.0 node of `make cassandra`
// (testenv.Require skips them without one, or fails them in CI).

type variant struct {
	version frame.Version
	comp    string
	tls     bool
}

func (v variant) String() string {
	s := fmt.Sprintf("v%d", v.version)
	if v.comp != "" {
		s += "-" + v.comp
	}
	if v.tls {
		s += "-tls"
	}
	return s
}

func realVariants(env testenv.Env) []variant {
	var out []variant
	for _, tls := range []bool{false, true} {
		if tls && !env.HasTLS() {
			continue
		}
		out = append(out, variant{frame.V5, "", tls}, variant{frame.V5, "lz4", tls},
			variant{frame.V4, "", tls}, variant{frame.V4, "lz4", tls}, variant{frame.V4, "snappy", tls})
	}
	return out
}

// variantConfig forces v's version, compression and TLS (verified against
// the node's address).
func variantConfig(t testing.TB, env testenv.Env, v variant) *Config {
	t.Helper()
	cfg := realConfig(t, env)
	cfg.MinVersion, cfg.MaxVersion, cfg.Compression = v.version, v.version, v.comp
	if v.tls {
		tc, err := (&TLSOptions{CAFile: env.TLSCA, CertFile: env.TLSCert, KeyFile: env.TLSKey}).Config()
		if err != nil {
			t.Fatal(err)
		}
		cfg.TLS = tc
	}
	return cfg
}

func TestRealHandshake(t *testing.T) {
	env := testenv.Require(t)
	for _, v := range realVariants(env) {
		t.Run(v.String(), func(t *testing.T) {
			c := dialT(t, env.Addrs()[0], variantConfig(t, env, v))
			if c.Version() != v.version || c.Compression() != v.comp {
				t.Errorf("negotiated v%d %q, want v%d %q", c.Version(), c.Compression(), v.version, v.comp)
			}
			for _, k := range []string{"CQL_VERSION", "COMPRESSION", "PROTOCOL_VERSIONS"} {
				if len(c.Supported()[k]) == 0 {
					t.Errorf("SUPPORTED has no %s: %v", k, c.Supported())
				}
			}
			if !strings.HasSuffix(c.Authenticator(), "PasswordAuthenticator") {
				t.Errorf("Authenticator() = %q", c.Authenticator())
			}
			for i := range int32(20) {
				resp, err := c.Do(context.Background(), echoRequest(i*1000003))
				if err != nil {
					t.Fatal(err)
				}
				if n, err := echoed(resp); err != nil || n != i*1000003 {
					t.Fatalf("echo %d: got %d, %v", i*1000003, n, err)
				}
			}
		})
	}
}

// TestRealNegotiation checks that the default Config settles on v5, and
// that a fixed version is respected.
func TestRealNegotiation(t *testing.T) {
	env := testenv.Require(t)
	cfg := realConfig(t, env)
	if c := dialT(t, env.Addrs()[0], cfg); c.Version() != frame.V5 {
		t.Errorf("default negotiation gave v%d, want v5", c.Version())
	}
	cfg.MaxVersion = frame.V4
	if c := dialT(t, env.Addrs()[0], cfg); c.Version() != frame.V4 {
		t.Errorf("MaxVersion 4 gave v%d", c.Version())
	}
	cfg = realConfig(t, env)
	cfg.Compression = "snappy" // snappy lowers the default to v4
	if c := dialT(t, env.Addrs()[0], cfg); c.Version() != frame.V4 || c.Compression() != "snappy" {
		t.Errorf("snappy gave v%d %q", c.Version(), c.Compression())
	}
}

// TestRealLargeAnswer reads back a blob larger than a v5 segment, so that
// the answer is reassembled from several segments (and handed over without
// a copy).
func TestRealLargeAnswer(t *testing.T) {
	env := testenv.Require(t)
	setup := dialT(t, env.Addrs()[0], realConfig(t, env))
	ctx := context.Background()
	for _, q := range []string{
		"CREATE KEYSPACE IF NOT EXISTS cqlwire_conn WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
		"CREATE TABLE IF NOT EXISTS cqlwire_conn.blobs (id int PRIMARY KEY, data blob)",
	} {
		if _, err := setup.Do(ctx, Request{Message: &frame.Query{Query: q, Params: frame.QueryParams{Consistency: frame.One}}}); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	big := make([]byte, 400_000)
	for i := range big {
		big[i] = byte(i * 7 / 5)
	}
	for i, v := range realVariants(env) {
		t.Run(v.String(), func(t *testing.T) {
			c := dialT(t, env.Addrs()[0], variantConfig(t, env, v))
			id := binary.BigEndian.AppendUint32(nil, uint32(i))
			_, err := c.Do(ctx, Request{Message: &frame.Query{Query: "INSERT INTO cqlwire_conn.blobs (id, data) VALUES (?, ?)",
				Params: frame.QueryParams{Consistency: frame.One, Values: []frame.Value{{Bytes: id}, {Bytes: big}}}}})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(ctx, Request{Message: &frame.Query{Query: "SELECT data FROM cqlwire_conn.blobs WHERE id = ?",
				Params: frame.QueryParams{Consistency: frame.One, Values: []frame.Value{{Bytes: id}}}}})
			if err != nil {
				t.Fatal(err)
			}
			rows, ok := resp.Message.(*frame.Rows)
			if !ok || rows.RowCount != 1 {
				t.Fatalf("answer %s", frame.DescribeMessage(resp.Message))
			}
			it := rows.Iter()
			cells, _ := it.Next(nil)
			if !bytes.Equal(cells[0], big) {
				t.Fatalf("blob of %d bytes came back as %d bytes", len(big), len(cells[0]))
			}
		})
	}
}

func TestRealServerError(t *testing.T) {
	env := testenv.Require(t)
	c := dialT(t, env.Addrs()[0], realConfig(t, env))
	resp, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "SELEC nonsense", Params: frame.QueryParams{Consistency: frame.One}}})
	var fe *frame.Error
	if !errors.As(err, &fe) || fe.Code != frame.CodeSyntaxError {
		t.Fatalf("got %v, want a syntax error", err)
	}
	if resp == nil || resp.Message != fe {
		t.Errorf("the envelope should come with the error: %v", resp)
	}
	// The connection is still fine.
	if _, err := c.Do(context.Background(), echoRequest(7)); err != nil {
		t.Fatal(err)
	}
}

func TestRealAuthentication(t *testing.T) {
	env := testenv.Require(t)
	addr := env.Addrs()[0]
	t.Run("no authenticator", func(t *testing.T) {
		_, err := Dial(context.Background(), addr, &Config{})
		var ce *Error
		if !errors.As(err, &ce) || ce.Op != "authentication" || !strings.Contains(err.Error(), "Config.Authenticator is nil") ||
			!strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "PasswordAuthenticator") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		starts := 0
		start := time.Now()
		_, err := Dial(context.Background(), addr, &Config{Authenticator: plainAuth{user: env.Username, password: "not the password", starts: &starts}})
		var fe *frame.Error
		if !errors.As(err, &fe) || fe.Code != frame.CodeAuthenticationError {
			t.Fatalf("got %v, want an authentication error", err)
		}
		if starts != 1 {
			t.Errorf("the exchange was started %d times, want exactly 1 (no retry)", starts)
		}
		if strings.Contains(err.Error(), "not the password") {
			t.Errorf("the error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), addr) {
			t.Errorf("the error does not name the host: %v", err)
		}
		t.Logf("%v (in %v)", err, time.Since(start))
	})
	t.Run("right password", func(t *testing.T) {
		for _, v := range []frame.Version{frame.V4, frame.V5} {
			cfg := realConfig(t, env)
			cfg.MinVersion, cfg.MaxVersion = v, v
			c := dialT(t, addr, cfg)
			if _, err := c.Do(context.Background(), echoRequest(1)); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestRealTLS(t *testing.T) {
	env := testenv.Require(t)
	if !env.HasTLS() {
		t.Skip("the node has no TLS (CQLWIRE_TLS_CA is not set)")
	}
	addr := env.Addrs()[0]
	host := env.Hosts[0]
	tlsConfig := func(o TLSOptions) *Config {
		t.Helper()
		if o.CAFile == "" && o.CAPEM == nil {
			o.CAFile = env.TLSCA
		}
		tc, err := o.Config()
		if err != nil {
			t.Fatal(err)
		}
		cfg := realConfig(t, env)
		cfg.TLS = tc
		return cfg
	}
	dialErr := func(t *testing.T, cfg *Config, want ...string) {
		t.Helper()
		c, err := Dial(context.Background(), addr, cfg)
		if err == nil {
			c.Close()
			t.Fatal("Dial succeeded, want a TLS failure")
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.Op != "TLS handshake" || ce.Addr != addr {
			t.Fatalf("got %v, want a TLS handshake *Error for %s", err, addr)
		}
		for _, w := range append(want, addr) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not mention %q", err, w)
			}
		}
		t.Log(err)
	}

	t.Run("verified", func(t *testing.T) {
		cfg := tlsConfig(TLSOptions{})
		if env.TLSClientAuth {
			cfg = tlsConfig(TLSOptions{CertFile: env.TLSCert, KeyFile: env.TLSKey})
		}
		c := dialT(t, addr, cfg)
		if _, err := c.Do(context.Background(), echoRequest(5)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong CA", func(t *testing.T) {
		dialErr(t, tlsConfig(TLSOptions{CAPEM: throwawayCA(t)}), "unknown authority", host)
	})
	t.Run("no CA uses system roots", func(t *testing.T) {
		tc, err := (&TLSOptions{}).Config()
		if err != nil {
			t.Fatal(err)
		}
		cfg := realConfig(t, env)
		cfg.TLS = tc
		dialErr(t, cfg, "unknown authority")
	})
	t.Run("certificate for another IP", func(t *testing.T) {
		// The node's certificate names 127.0.0.1 and localhost only.
		dialErr(t, tlsConfig(TLSOptions{ServerName: "127.0.0.2"}), "127.0.0.2", "valid for 127.0.0.1, not 127.0.0.2")
	})
	t.Run("Config.ServerName for another name", func(t *testing.T) {
		cfg := tlsConfig(TLSOptions{})
		cfg.ServerName = "cassandra.invalid"
		dialErr(t, cfg, "cassandra.invalid")
	})
	t.Run("verification skipped", func(t *testing.T) {
		c := dialT(t, addr, tlsConfig(TLSOptions{ServerName: "127.0.0.2", DangerouslySkipVerification: true,
			CertFile: env.TLSCert, KeyFile: env.TLSKey}))
		if _, err := c.Do(context.Background(), echoRequest(5)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("client certificate", func(t *testing.T) {
		if !env.HasClientCert() {
			t.Skip("no client certificate configured")
		}
		// With MTLS the node requires it; without, sending it is harmless.
		c := dialT(t, addr, tlsConfig(TLSOptions{CertFile: env.TLSCert, KeyFile: env.TLSKey}))
		if _, err := c.Do(context.Background(), echoRequest(6)); err != nil {
			t.Fatal(err)
		}
		if env.TLSClientAuth {
			c, err := Dial(context.Background(), addr, tlsConfig(TLSOptions{}))
			if err == nil {
				// TLS 1.3 reports a missing client certificate on first read.
				_, err = c.Do(context.Background(), echoRequest(6))
				c.Close()
			}
			if err == nil {
				t.Fatal("the node requires client certificates, but a connection without one works")
			}
		}
	})
	t.Run("TLS 1.1 refused by config", func(t *testing.T) {
		cfg := realConfig(t, env)
		cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS11}
		if _, err := Dial(context.Background(), addr, cfg); !errors.Is(err, ErrConfig) {
			t.Fatalf("got %v, want a config error", err)
		}
	})
}

// throwawayCA returns the PEM certificate of a new self-signed CA that
// signed nothing the node has.
func throwawayCA(t testing.TB) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the cqlwire CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestRealConcurrent sends 10,000 requests at once on one connection and
// checks that every answer is the one of its own request.
func TestRealConcurrent(t *testing.T) {
	env := testenv.Require(t)
	for _, v := range []variant{{version: frame.V5}, {version: frame.V5, comp: "lz4"}, {version: frame.V4}} {
		t.Run(v.String(), func(t *testing.T) {
			c := dialT(t, env.Addrs()[0], variantConfig(t, env, v))
			const n = 10000
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					want := int32(i*7919 + 1)
					resp, err := c.Do(ctx, echoRequest(want))
					if err != nil {
						errs <- fmt.Errorf("request %d: %w", i, err)
						return
					}
					if got, err := echoed(resp); err != nil || got != want {
						errs <- fmt.Errorf("request %d: answer %d (%v), want %d", i, got, err, want)
					}
				})
			}
			wg.Wait()
			close(errs)
			bad := 0
			for err := range errs {
				if bad++; bad <= 5 {
					t.Error(err)
				}
			}
			if bad > 0 {
				t.Fatalf("%d of %d requests failed", bad, n)
			}
			// A liveness probe (OPTIONS) may be on its way when the last
			// answer arrives: it is answered within ProbeTimeout.
			deadline := time.Now().Add(2 * time.Second)
			for c.InFlight() != 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := c.InFlight(); got != 0 {
				t.Errorf("InFlight() = %d 2 s after every answer", got)
			}
		})
	}
}

// TestRealCancelInFlight gives up on a request after it was sent, while
// other requests go on: they all succeed, the cancelled one reports that
// it may have run, and its stream id is freed by its late answer.
func TestRealCancelInFlight(t *testing.T) {
	env := testenv.Require(t)
	c := dialT(t, env.Addrs()[0], realConfig(t, env))
	slow := Request{Message: &frame.Query{Query: "SELECT * FROM system_schema.columns", Params: frame.QueryParams{Consistency: frame.One}}}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	others := make(chan error, 1000)
	for g := range 8 {
		wg.Go(func() {
			for i := int32(0); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				want := int32(g)<<20 | i
				resp, err := c.Do(context.Background(), echoRequest(want))
				if err == nil {
					var got int32
					if got, err = echoed(resp); err == nil && got != want {
						err = fmt.Errorf("answer %d, want %d", got, want)
					}
				}
				if err != nil {
					others <- err
					return
				}
			}
		})
	}

	cancelledSent := false
	for attempt := 0; attempt < 200 && !cancelledSent; attempt++ {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			// Cancel as soon as some call of the slow kind is on the wire.
			deadline := time.Now().Add(time.Second)
			for time.Now().Before(deadline) {
				if sentCallWaiting(c) {
					cancel()
					return
				}
				time.Sleep(20 * time.Microsecond)
			}
			cancel()
		}()
		_, err := c.Do(ctx, slow)
		cancel()
		var ce *Error
		switch {
		case err == nil:
			// Answered before the cancel: try again.
		case errors.As(err, &ce) && errors.Is(err, context.Canceled):
			if !ce.Request || ce.Op != "QUERY" {
				t.Fatalf("cancel error %#v", ce)
			}
			cancelledSent = ce.Sent
			t.Logf("attempt %d: %v", attempt, err)
		default:
			t.Fatalf("slow request: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	close(others)
	for err := range others {
		t.Errorf("concurrent request: %v", err)
	}
	if !cancelledSent {
		t.Fatal("never managed to cancel a request that was already sent")
	}
	// The late answer frees its stream id.
	deadline := time.Now().Add(5 * time.Second)
	for c.InFlight() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := c.InFlight(); n != 0 {
		t.Errorf("%d stream ids still in use", n)
	}
	if _, err := c.Do(context.Background(), echoRequest(3)); err != nil {
		t.Fatal(err)
	}
}

// sentCallWaiting reports whether some request on c has been sent and is
// waiting for its answer.
func sentCallWaiting(c *Conn) bool {
	for i := range c.streams.chunks {
		ch := c.streams.chunks[i].Load()
		if ch == nil {
			continue
		}
		for j := range ch {
			if cl := ch[j].Load(); cl != nil && cl.state.Load() == stSent {
				return true
			}
		}
	}
	return false
}

// TestRealHeartbeat leaves a connection idle with a short heartbeat: the
// OPTIONS keep it alive and a request afterwards works.
func TestRealHeartbeat(t *testing.T) {
	env := testenv.Require(t)
	cfg := realConfig(t, env)
	cfg.HeartbeatInterval = 200 * time.Millisecond
	c := dialT(t, env.Addrs()[0], cfg)
	before := c.Health().BytesRead
	time.Sleep(1100 * time.Millisecond)
	// An OPTIONS answer (SUPPORTED) is well over 9 bytes; two mean two heartbeats.
	if n := c.Health().BytesRead - before; n < 2*(frame.HeaderSize+10) {
		t.Errorf("%d bytes read in 1.1 s of idleness, want heartbeats", n)
	}
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(context.Background(), echoRequest(11)); err != nil {
		t.Fatal(err)
	}
}

// TestRealEvents registers for schema changes and sees the one another
// connection makes.
func TestRealEvents(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	events := make(chan frame.Event, 16)
	cfg := realConfig(t, env)
	cfg.Events = events
	c := dialT(t, env.Addrs()[0], cfg)
	resp, err := c.Do(ctx, Request{Message: &frame.Register{EventTypes: []string{frame.EventSchemaChange}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := resp.Message.(*frame.Ready); !ok {
		t.Fatalf("REGISTER answered %s", frame.DescribeMessage(resp.Message))
	}
	other := dialT(t, env.Addrs()[0], realConfig(t, env))
	q := func(cql string) {
		t.Helper()
		if _, err := other.Do(ctx, Request{Message: &frame.Query{Query: cql, Params: frame.QueryParams{Consistency: frame.One}}}); err != nil {
			t.Fatalf("%s: %v", cql, err)
		}
	}
	q("CREATE KEYSPACE IF NOT EXISTS cqlwire_conn WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	// Drain what the setup caused.
	time.Sleep(200 * time.Millisecond)
	for len(events) > 0 {
		<-events
	}
	table := fmt.Sprintf("evt_%d", time.Now().UnixNano())
	expect := func(change frame.SchemaChangeType) {
		t.Helper()
		for {
			select {
			case ev := <-events:
				sc, ok := ev.(*frame.SchemaChangeEvent)
				if !ok {
					t.Fatalf("event %s", frame.DescribeMessage(ev))
				}
				if sc.Keyspace == "cqlwire_conn" && sc.Name == table && sc.ChangeType == change {
					return
				}
				t.Logf("other event: %s", frame.DescribeMessage(ev))
			case <-time.After(30 * time.Second):
				t.Fatalf("no SCHEMA_CHANGE %s event for %s", change, table)
			}
		}
	}
	q("CREATE TABLE cqlwire_conn." + table + " (k int PRIMARY KEY)")
	expect(frame.SchemaCreated)
	q("DROP TABLE cqlwire_conn." + table)
	expect(frame.SchemaDropped)
}

// TestRealCloseInFlight closes a busy connection: every request ends at
// once, with its answer or with ErrClosed (saying whether it was sent), and
// no goroutine is left.
func TestRealCloseInFlight(t *testing.T) {
	env := testenv.Require(t)
	check := goroutineCheck(t)
	c, err := Dial(context.Background(), env.Addrs()[0], realConfig(t, env))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var answered, sent, unsent int
	for g := range 200 {
		wg.Go(func() {
			for i := int32(0); ; i++ {
				_, err := c.Do(context.Background(), echoRequest(int32(g)<<16|i))
				mu.Lock()
				var ce *Error
				switch {
				case err == nil:
					answered++
				case errors.Is(err, ErrClosed) && errors.As(err, &ce):
					if ce.Sent {
						sent++
					} else {
						unsent++
					}
				default:
					t.Errorf("request: %v", err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	for {
		mu.Lock()
		n := answered
		mu.Unlock()
		if n >= 2000 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	inFlight := c.InFlight()
	start := time.Now()
	c.Close()
	elapsed := time.Since(start)
	wg.Wait()
	t.Logf("%d answered; at Close %d in flight, %v to close; failed: %d sent, %d not sent", answered, inFlight, elapsed, sent, unsent)
	if sent+unsent != 200 {
		t.Errorf("%d requests failed with ErrClosed, want one per goroutine (200)", sent+unsent)
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("Err() = %v", c.Err())
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done() not closed after Close")
	}
	c.Close() // idempotent
	if _, err := c.Do(context.Background(), echoRequest(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close: %v", err)
	}
	check()
}
