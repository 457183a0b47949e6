package wiretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/types"
)

// These tests run the frame, segment and compression codecs against a real
// Cassandra 5.0 node (make cassandra): every protocol version and
// compression the server offers, over plain TCP and TLS.

type variant struct {
	version     frame.Version
	compression string
	tls         bool
}

func (v variant) String() string {
	s := fmt.Sprintf("v%d", v.version)
	if v.compression != "" {
		s += "-" + v.compression
	}
	if v.tls {
		s += "-tls"
	}
	return s
}

func variants(env testenv.Env) []variant {
	var out []variant
	for _, tls := range []bool{false, true} {
		if tls && !env.HasTLS() {
			continue
		}
		out = append(out,
			variant{frame.V4, "", tls}, variant{frame.V4, "lz4", tls}, variant{frame.V4, "snappy", tls},
			variant{frame.V5, "", tls}, variant{frame.V5, "lz4", tls})
	}
	return out
}

func dial(t *testing.T, env testenv.Env, v variant) *Client {
	t.Helper()
	opts := Options{Version: v.version, Compression: v.compression, Username: env.Username, Password: env.Password}
	if v.tls {
		cfg, err := env.TLSConfig(env.Hosts[0])
		if err != nil {
			t.Fatal(err)
		}
		opts.TLS = cfg
	}
	c, err := Dial(context.Background(), env.Addrs()[0], opts)
	if err != nil {
		t.Fatalf("dial %s %v: %v", env.Addrs()[0], v, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rowsOf(t *testing.T, e *frame.Envelope) *frame.Rows {
	t.Helper()
	rows, ok := e.Message.(*frame.Rows)
	if !ok {
		t.Fatalf("want RESULT Rows, got %s", frame.DescribeMessage(e.Message))
	}
	return rows
}

func TestRealNodeSystemLocal(t *testing.T) {
	env := testenv.Require(t)
	for _, v := range variants(env) {
		t.Run(v.String(), func(t *testing.T) {
			c := dial(t, env, v)
			if got := c.Supported.Options["PROTOCOL_VERSIONS"]; !containsPrefix(got, "5/v5") {
				t.Errorf("SUPPORTED PROTOCOL_VERSIONS = %q, want 5/v5 among them", got)
			}
			resp, err := c.Query("SELECT release_version, host_id, tokens, cluster_name FROM system.local")
			if err != nil {
				t.Fatal(err)
			}
			rows := rowsOf(t, resp)
			wantCols := []struct {
				name string
				kind types.Kind
			}{{"release_version", types.Varchar}, {"host_id", types.UUID}, {"tokens", types.Set}, {"cluster_name", types.Varchar}}
			cols := rows.Metadata.Columns
			if len(cols) != len(wantCols) {
				t.Fatalf("%d columns, want %d", len(cols), len(wantCols))
			}
			for i, w := range wantCols {
				if cols[i].Name != w.name || cols[i].Type.Kind != w.kind || cols[i].Keyspace != "system" || cols[i].Table != "local" {
					t.Errorf("column %d = %s.%s.%s %v, want system.local.%s %v", i, cols[i].Keyspace, cols[i].Table, cols[i].Name, cols[i].Type, w.name, w.kind)
				}
			}
			if rows.RowCount != 1 {
				t.Fatalf("%d rows, want 1", rows.RowCount)
			}
			it := rows.Iter()
			cells, ok := it.Next(nil)
			if !ok {
				t.Fatalf("no row: %v", it.Err())
			}
			var release string
			if err := types.Decode(cols[0].Type, cells[0], &release); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(release, "5.0.") {
				t.Errorf("release_version %q, want 5.0.x", release)
			}
			var tokens []string
			if err := types.Decode(cols[2].Type, cells[2], &tokens); err != nil || len(tokens) != 1 {
				t.Errorf("tokens %q, err %v: want one token", tokens, err)
			}
		})
	}
}

func containsPrefix(list []string, p string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// TestRealNodeLargeValuesAndVectors writes and reads back values large enough
// that v5 envelopes span several segments (over 128 KiB), prepared
// statements with the v5 result metadata id, and a vector<float, 3> column.
func TestRealNodeLargeValuesAndVectors(t *testing.T) {
	env := testenv.Require(t)
	setup := dial(t, env, variant{version: frame.V5})
	for _, q := range []string{
		"CREATE KEYSPACE IF NOT EXISTS cqlwire_wiretest WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
		"CREATE TABLE IF NOT EXISTS cqlwire_wiretest.blobs (id int PRIMARY KEY, data blob, v vector<float, 3>)",
	} {
		if _, err := setup.Query(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	big := bytes.Repeat([]byte("cqlwire segments "), 20000) // 340,000 bytes, compressible
	for i := range big {
		if i%97 == 0 {
			big[i] = byte(i) // and not entirely repetitive
		}
	}
	for i, v := range variants(env) {
		t.Run(v.String(), func(t *testing.T) {
			c := dial(t, env, v)
			prep, err := c.Do(&frame.Prepare{Query: "INSERT INTO cqlwire_wiretest.blobs (id, data, v) VALUES (?, ?, ?)"})
			if err != nil {
				t.Fatal(err)
			}
			p, ok := prep.Message.(*frame.Prepared)
			if !ok {
				t.Fatalf("PREPARE answered by %s", frame.DescribeMessage(prep.Message))
			}
			if len(p.Params.Columns) != 3 || p.Params.Columns[2].Type.Kind != types.Vector || p.Params.Columns[2].Type.Dimension != 3 {
				t.Fatalf("prepared bind metadata %v", p.Params.Columns)
			}
			if v.version == frame.V5 && len(p.ResultMetadataID) == 0 {
				t.Error("v5 prepared result has no result_metadata_id")
			}
			id, _, err := types.Append(nil, types.Native(types.Int), int32(i))
			if err != nil {
				t.Fatal(err)
			}
			vec := types.AppendFloat32Vector(nil, []float32{1.5, -2, float32(i)})
			_, err = c.Do(&frame.Execute{ID: p.ID, ResultMetadataID: p.ResultMetadataID, Params: frame.QueryParams{
				Consistency: frame.One, Values: []frame.Value{{Bytes: id}, {Bytes: big}, {Bytes: vec}}}})
			if err != nil {
				t.Fatalf("EXECUTE: %v", err)
			}
			resp, err := c.Query("SELECT data, v FROM cqlwire_wiretest.blobs WHERE id = ?", frame.Value{Bytes: id})
			if err != nil {
				t.Fatal(err)
			}
			rows := rowsOf(t, resp)
			it := rows.Iter()
			cells, ok := it.Next(nil)
			if !ok || rows.RowCount != 1 {
				t.Fatalf("want one row, got %d (%v)", rows.RowCount, it.Err())
			}
			if !bytes.Equal(cells[0], big) {
				t.Errorf("blob of %d bytes came back as %d bytes", len(big), len(cells[0]))
			}
			got, err := types.DecodeFloat32Vector(nil, cells[1])
			if err != nil || len(got) != 3 || got[0] != 1.5 || got[1] != -2 || got[2] != float32(i) {
				t.Errorf("vector came back as %v (%v)", got, err)
			}
		})
	}
}

func TestRealNodeServerErrors(t *testing.T) {
	env := testenv.Require(t)
	for _, v := range []variant{{version: frame.V4}, {version: frame.V5}} {
		t.Run(v.String(), func(t *testing.T) {
			c := dial(t, env, v)
			_, err := c.Query("SELECT * FROM cqlwire_wiretest.no_such_table")
			var fe *frame.Error
			if !errors.As(err, &fe) || fe.Code != frame.CodeInvalid {
				t.Fatalf("got %v, want an Invalid error", err)
			}
			_, err = c.Query("SELEC nonsense")
			if !errors.As(err, &fe) || fe.Code != frame.CodeSyntaxError {
				t.Fatalf("got %v, want a syntax error", err)
			}
			exec := &frame.Execute{ID: []byte{1, 2, 3, 4}, Params: frame.QueryParams{Consistency: frame.One}}
			if v.version >= frame.V5 {
				exec.ResultMetadataID = []byte{5}
			}
			_, err = c.Do(exec)
			var unp *frame.Unprepared
			if !errors.As(err, &unp) || !bytes.Equal(unp.ID, []byte{1, 2, 3, 4}) {
				t.Fatalf("got %v, want Unprepared with the id", err)
			}
		})
	}
}

func TestRealNodeBadCredentials(t *testing.T) {
	env := testenv.Require(t)
	_, err := Dial(context.Background(), env.Addrs()[0], Options{Version: frame.V5, Username: env.Username, Password: "wrong password"})
	var fe *frame.Error
	if !errors.As(err, &fe) || fe.Code != frame.CodeAuthenticationError {
		t.Fatalf("got %v, want an authentication error", err)
	}
}
