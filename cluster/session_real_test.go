package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/query"
)

// realSessionConfig is a Config for the test node of env.
func realSessionConfig(env testenv.Env) Config {
	cfg := Config{
		ContactPoints:   env.Addrs()[:1],
		LocalDatacenter: env.DC,
		Username:        env.Username,
		Password:        auth.Secret(env.Password),
		DefaultProfile:  query.Profile{RequestTimeout: 30 * time.Second},
	}
	if env.TLSClientAuth {
		cfg.TLS = &conn.TLSOptions{CAFile: env.TLSCA, CertFile: env.TLSCert, KeyFile: env.TLSKey}
	}
	return cfg
}

func connectReal(t *testing.T, mutate func(*Config)) *Session {
	t.Helper()
	env := testenv.Require(t)
	cfg := realSessionConfig(env)
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestSessionBasics runs the everyday calls against the real node, on v4
// and v5: a system table, DDL, prepared inserts, One, paging, a batch and
// conditional statements.
func TestSessionBasics(t *testing.T) {
	for _, tc := range []struct {
		v    frame.Version
		comp string
	}{{frame.V4, ""}, {frame.V5, ""}, {frame.V4, "lz4"}, {frame.V4, "snappy"}, {frame.V5, "lz4"}} {
		v := tc.v
		t.Run(fmt.Sprintf("v%d%s", v, tc.comp), func(t *testing.T) {
			s := connectReal(t, func(c *Config) { c.ProtocolVersion, c.Compression = v, tc.comp })
			ctx := testCtx(t)

			var release string
			if err := s.Query("SELECT release_version FROM system.local").One(ctx, &release); err != nil {
				t.Fatal(err)
			}
			if release == "" {
				t.Fatal("empty release_version")
			}
			ks := fmt.Sprintf("cqlwire_session_v%d%s", v, tc.comp)
			mustExecS(t, ctx, s, "CREATE KEYSPACE IF NOT EXISTS "+ks+" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
			mustExecS(t, ctx, s, "DROP TABLE IF EXISTS "+ks+".kv")
			mustExecS(t, ctx, s, "CREATE TABLE "+ks+".kv (p int, c int, v text, PRIMARY KEY (p, c))")
			if s.Schema().Keyspaces[ks] == nil || s.Schema().Keyspaces[ks].Tables["kv"] == nil {
				t.Fatal("the schema metadata does not show the new table right after CREATE TABLE")
			}

			// 1,000 rows in one partition through a prepared INSERT.
			ins, err := s.Prepare(ctx, "INSERT INTO "+ks+".kv (p, c, v) VALUES (?, ?, ?)")
			if err != nil {
				t.Fatal(err)
			}
			if got := ins.PartitionKeyIndexes(); !slices.Equal(got, []uint16{0}) {
				t.Errorf("partition key indexes %v, want [0]", got)
			}
			for c := range 1000 {
				if err := ins.Bind(1, c, fmt.Sprintf("value %d", c)).Exec(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var v1 string
			if err := s.Query("SELECT v FROM "+ks+".kv WHERE p = ? AND c = ?", 1, 500).One(ctx, &v1); err != nil || v1 != "value 500" {
				t.Fatalf("One: %q, %v", v1, err)
			}
			if err := s.Query("SELECT v FROM "+ks+".kv WHERE p = ? AND c = ?", 2, 500).One(ctx, &v1); !errors.Is(err, ErrNotFound) {
				t.Fatalf("One on no row: %v, want ErrNotFound", err)
			}

			// Automatic paging: every row once, in clustering order.
			it := s.Query("SELECT c, v FROM "+ks+".kv WHERE p = ?", 1).PageSize(64).Iter(ctx)
			next := 0
			for row, err := range it.All() {
				if err != nil {
					t.Fatal(err)
				}
				var c int
				var v string
				if err := row.Scan(&c, &v); err != nil {
					t.Fatal(err)
				}
				if c != next || v != fmt.Sprintf("value %d", c) {
					t.Fatalf("row %d: (%d, %q)", next, c, v)
				}
				next++
			}
			if next != 1000 || it.Pages() != 16 {
				t.Fatalf("%d rows in %d pages, want 1000 in 16", next, it.Pages())
			}

			// Manual paging with the opaque paging state.
			var state []byte
			seen := 0
			for pages := 0; ; pages++ {
				res, err := s.Query("SELECT c FROM "+ks+".kv WHERE p = ?", 1).PageSize(300).PagingState(state).Run(ctx)
				if err != nil {
					t.Fatal(err)
				}
				seen += res.RowCount()
				if state = res.PagingState; state == nil {
					if pages != 3 {
						t.Fatalf("%d pages, want 4", pages+1)
					}
					break
				}
			}
			if seen != 1000 {
				t.Fatalf("manual paging saw %d rows", seen)
			}

			// A logged batch, then LWTs.
			b := s.Batch(query.LoggedBatch).
				Add("INSERT INTO "+ks+".kv (p, c, v) VALUES (?, ?, ?)", 7, 1, "a").
				Add("INSERT INTO "+ks+".kv (p, c, v) VALUES (?, ?, ?)", 7, 2, "b").
				AddSimple("DELETE FROM " + ks + ".kv WHERE p = 7 AND c = 3")
			if err := b.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			count := 0
			for _, err := range s.Query("SELECT v FROM "+ks+".kv WHERE p = ?", 7).Rows(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				count++
			}
			if count != 2 {
				t.Fatalf("the batch wrote %d rows, want 2", count)
			}
			applied, err := s.Query("INSERT INTO "+ks+".kv (p, c, v) VALUES (?, ?, ?) IF NOT EXISTS", 8, 1, "first").ScanCAS(ctx)
			if err != nil || !applied {
				t.Fatalf("first IF NOT EXISTS: applied=%v err=%v", applied, err)
			}
			var p, c int
			var old string
			applied, err = s.Query("INSERT INTO "+ks+".kv (p, c, v) VALUES (?, ?, ?) IF NOT EXISTS", 8, 1, "second").ScanCAS(ctx, &p, &c, &old)
			if err != nil || applied || old != "first" || p != 8 || c != 1 {
				t.Fatalf("second IF NOT EXISTS: applied=%v (%d, %d, %q) err=%v", applied, p, c, old, err)
			}
			prev := map[string]any{}
			applied, err = s.Query("UPDATE "+ks+".kv SET v = ? WHERE p = ? AND c = ? IF v = ?", "third", 8, 1, "nope").MapCAS(ctx, prev)
			if err != nil || applied || prev["v"] != "first" {
				t.Fatalf("UPDATE IF: applied=%v prev=%v err=%v", applied, prev, err)
			}

			// A server error is typed.
			err = s.Query("SELEC nothing").Exec(ctx)
			if !errors.Is(err, frame.CodeSyntaxError) {
				t.Fatalf("syntax error: %v", err)
			}
			var fe *frame.Error
			if !errors.As(err, &fe) || fe.Code != frame.CodeSyntaxError {
				t.Fatalf("errors.As *frame.Error: %v", err)
			}
		})
	}
}

func mustExecS(t *testing.T, ctx context.Context, s *Session, cql string) {
	t.Helper()
	if err := s.Query(cql).Exec(ctx); err != nil {
		t.Fatalf("%s: %v", cql, err)
	}
}

// TestSessionTLS connects over TLS, verifying the node's certificate against
// the test CA (and presenting the client certificate when there is one).
// Against a node that requires client certificates (CI restarts it so), a
// session without one must fail at Connect with a TLS error.
func TestSessionTLS(t *testing.T) {
	env := testenv.Require(t)
	if !env.HasTLS() {
		t.Fatal("no CA configured (CQLWIRE_TLS_CA): the devcluster always makes one; is env.mk stale?")
	}
	s := connectReal(t, func(c *Config) {
		c.TLS = &conn.TLSOptions{CAFile: env.TLSCA}
		if env.HasClientCert() {
			c.TLS.CertFile, c.TLS.KeyFile = env.TLSCert, env.TLSKey
		}
	})
	ctx := testCtx(t)
	var release string
	if err := s.Query("SELECT release_version FROM system.local").One(ctx, &release); err != nil || release == "" {
		t.Fatalf("release_version %q, %v", release, err)
	}
	// A CA that did not sign the node's certificate: refused, naming the reason.
	bad := realSessionConfig(env)
	bad.TLS = &conn.TLSOptions{CAPEM: otherCA(t)}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if s2, err := Connect(cctx, bad); err == nil {
		s2.Close()
		t.Fatal("Connect succeeded with a CA that did not sign the node's certificate")
	} else if !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("error does not name the certificate problem: %v", err)
	} else {
		t.Logf("with another CA: %v", err)
	}
	if env.TLSClientAuth {
		nocert := realSessionConfig(env)
		nocert.TLS = &conn.TLSOptions{CAFile: env.TLSCA}
		if s3, err := Connect(cctx, nocert); err == nil {
			s3.Close()
			t.Fatal("the node requires client certificates, yet a session without one connected")
		} else {
			t.Logf("without a client certificate: %v", err)
		}
	}
}

// otherCA returns the PEM certificate of a CA made up on the spot: not the
// one that signed the node's certificate.
func otherCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the devcluster CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
