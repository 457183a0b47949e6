package conn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

// reviewDelayHandler echoes, answering each QUERY after a delay derived from
// its bound value, so that answers come back out of order and late.
func reviewDelayHandler(req *testserver.Request) testserver.Reply {
	rep := req.Default()
	if req.Header.Opcode == frame.OpQuery {
		if env, err := req.Envelope(); err == nil {
			if q, ok := env.Message.(*frame.Query); ok && len(q.Params.Values) == 1 && len(q.Params.Values[0].Bytes) == 4 {
				n := binary.BigEndian.Uint32(q.Params.Values[0].Bytes)
				rep.Delay = time.Duration(n%7) * 300 * time.Microsecond
			}
		}
	}
	return rep
}

// TestReviewStressReuse: few stream ids, many callers giving up at random
// moments (before and after the write), late answers freeing ids that are
// reused at once. Every answer received must be the caller's own, every
// failure must be a context error, and once the dust settles no id may stay
// taken. A regression guard for the call/stream state machine.
func TestReviewStressReuse(t *testing.T) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			srv := startServer(t, testserver.Options{Echo: true, Handler: reviewDelayHandler})
			cfg := fakeConfig(v)
			cfg.MaxStreams = 3
			c := dialT(t, srv.Addr(), cfg)
			var wg sync.WaitGroup
			var ok, gaveUp atomic.Int64
			for w := range 32 {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(w), 1))
					for i := range int32(200) {
						n := int32(w)<<16 | i
						ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(2000))*time.Microsecond)
						resp, err := c.Do(ctx, echoRequest(n))
						cancel()
						if err != nil {
							if !errors.Is(err, context.DeadlineExceeded) {
								t.Errorf("request %d: %v", n, err)
								return
							}
							gaveUp.Add(1)
							continue
						}
						got, err := echoed(resp)
						if err != nil || got != n {
							t.Errorf("request %d got the answer of %d (%v)", n, got, err)
							return
						}
						ok.Add(1)
					}
				})
			}
			wg.Wait()
			t.Logf("%d answered, %d given up", ok.Load(), gaveUp.Load())
			waitFor(t, func() bool { return c.InFlight() == 0 })
			if err := c.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReviewCloseMidTraffic: Close while callers are queuing, being written,
// waiting for stream ids and giving up. Every Do returns promptly with its
// own answer, a context error or ErrClosed; nothing leaks.
func TestReviewCloseMidTraffic(t *testing.T) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			check := goroutineCheck(t)
			srv := startServer(t, testserver.Options{Echo: true, Handler: reviewDelayHandler})
			for round := range 20 {
				cfg := fakeConfig(v)
				cfg.MaxStreams = 16
				cfg.HeartbeatInterval = time.Millisecond
				c, err := Dial(context.Background(), srv.Addr(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				for w := range 64 {
					wg.Go(func() {
						r := rand.New(rand.NewPCG(uint64(w), uint64(round)))
						for i := int32(0); ; i++ {
							n := int32(w)<<16 | i
							ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(3000))*time.Microsecond)
							resp, err := c.Do(ctx, echoRequest(n))
							cancel()
							switch {
							case err == nil:
								if got, err := echoed(resp); err != nil || got != n {
									t.Errorf("request %d got the answer of %d (%v)", n, got, err)
									return
								}
							case errors.Is(err, ErrClosed):
								return
							case errors.Is(err, context.DeadlineExceeded):
							default:
								t.Errorf("request %d: %v", n, err)
								return
							}
						}
					})
				}
				time.Sleep(time.Duration(rand.IntN(5000)) * time.Microsecond)
				closed := make(chan struct{})
				go func() { c.Close(); close(closed) }()
				all := make(chan struct{})
				go func() { wg.Wait(); close(all) }()
				select {
				case <-all:
				case <-time.After(5 * time.Second):
					t.Fatal("callers still blocked 5 s after Close")
				}
				select {
				case <-closed:
				case <-time.After(5 * time.Second):
					t.Fatal("Close did not return")
				}
			}
			srv.Close()
			check()
		})
	}
}

func reviewSelfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
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
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// TestReviewTLSDialTimeoutRace: over TLS, the dial timeout firing during
// the CQL handshake runs the AfterFunc of dialVersion, which reads the local
// variable nc that the Dial goroutine reassigned (nc = tc) with nothing
// ordering the two: a data race (go test -race reports it).
func TestReviewTLSDialTimeoutRace(t *testing.T) {
	srvTLS, pool := reviewSelfSigned(t)
	srv := startServer(t, testserver.Options{TLS: srvTLS, Handler: func(req *testserver.Request) testserver.Reply {
		if req.Header.Opcode == frame.OpOptions {
			return testserver.Reply{Fault: testserver.FaultHold}
		}
		return req.Default()
	}})
	cfg := fakeConfig(frame.V4)
	cfg.TLS = &tls.Config{RootCAs: pool}
	cfg.DialTimeout = 200 * time.Millisecond
	_, err := Dial(context.Background(), srv.Addr(), cfg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial: %v, want a timeout", err)
	}
	t.Log(err)
}
