package pool

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/internal/wiretest"
	"github.com/cqlwire/cqlwire/types"
)

// These tests compare the token code with a real Cassandra node (make
// cassandra): token(k) of random keys, and the replicas of the node's own
// ring.

const itKeyspace = "cqlwire_pooltest"

func dialNode(t *testing.T) *wiretest.Client {
	t.Helper()
	env := testenv.Require(t)
	c, err := wiretest.Dial(context.Background(), env.Addrs()[0], wiretest.Options{
		Version: frame.V5, Username: env.Username, Password: env.Password})
	if err != nil {
		t.Fatalf("dial %s: %v", env.Addrs()[0], err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustQuery(t *testing.T, c *wiretest.Client, cql string, values ...frame.Value) *frame.Rows {
	t.Helper()
	e, err := c.Query(cql, values...)
	if err != nil {
		t.Fatalf("%s: %v", cql, err)
	}
	rows, _ := e.Message.(*frame.Rows)
	return rows
}

// randomUTF8 returns a valid UTF-8 string of at most maxBytes bytes, mixing
// ASCII, 2-, 3- and 4-byte sequences (so bytes >= 0x80 are common).
func randomUTF8(r *rand.Rand, maxBytes int) []byte {
	n := r.IntN(maxBytes + 1)
	var b []byte
	for {
		var c rune
		switch r.IntN(4) {
		case 0:
			c = rune(r.IntN(0x80))
		case 1:
			c = rune(0x80 + r.IntN(0x800-0x80))
		case 2:
			c = rune(0x800 + r.IntN(0xd800-0x800))
		default:
			c = rune(0x10000 + r.IntN(0x10ffff-0x10000))
		}
		if len(b)+utf8.RuneLen(c) > n {
			return b
		}
		b = utf8.AppendRune(b, c)
	}
}

func randomBytes(r *rand.Rand, minLen, maxLen int) []byte {
	b := make([]byte, minLen+r.IntN(maxLen-minLen+1))
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// TestRealNodeMurmur3Tokens inserts a few hundred random partition keys of
// each kind (blob, text, int, composite) and compares the server's token()
// of every row with Murmur3Token of the routing key.
func TestRealNodeMurmur3Tokens(t *testing.T) {
	c := dialNode(t)
	for _, q := range []string{
		"CREATE KEYSPACE IF NOT EXISTS " + itKeyspace + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
		"CREATE TABLE IF NOT EXISTS " + itKeyspace + ".kblob (k blob PRIMARY KEY)",
		"CREATE TABLE IF NOT EXISTS " + itKeyspace + ".ktext (k text PRIMARY KEY)",
		"CREATE TABLE IF NOT EXISTS " + itKeyspace + ".kint (k int PRIMARY KEY)",
		"CREATE TABLE IF NOT EXISTS " + itKeyspace + ".kcomp (k1 blob, k2 text, k3 int, PRIMARY KEY ((k1, k2, k3)))",
		"TRUNCATE " + itKeyspace + ".kblob",
		"TRUNCATE " + itKeyspace + ".ktext",
		"TRUNCATE " + itKeyspace + ".kint",
		"TRUNCATE " + itKeyspace + ".kcomp",
	} {
		mustQuery(t, c, q)
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	const perTable = 300
	int4 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

	for i := 0; i < perTable; i++ {
		// A single-column key may not be empty; lengths 1..40.
		mustQuery(t, c, "INSERT INTO "+itKeyspace+".kblob (k) VALUES (?)", frame.Value{Bytes: randomBytes(r, 1, 40)})
		if s := randomUTF8(r, 40); len(s) > 0 {
			mustQuery(t, c, "INSERT INTO "+itKeyspace+".ktext (k) VALUES (?)", frame.Value{Bytes: s})
		}
		mustQuery(t, c, "INSERT INTO "+itKeyspace+".kint (k) VALUES (?)", frame.Value{Bytes: int4(r.Uint32())})
		// Composite components may be empty; lengths 0..40.
		mustQuery(t, c, "INSERT INTO "+itKeyspace+".kcomp (k1, k2, k3) VALUES (?, ?, ?)",
			frame.Value{Bytes: randomBytes(r, 0, 40)}, frame.Value{Bytes: append([]byte{}, randomUTF8(r, 40)...)},
			frame.Value{Bytes: int4(r.Uint32())})
	}
	// Also a few hand-picked keys: each tail length 1..15 with every byte
	// >= 0x80, and whole blocks.
	for n := 1; n <= 33; n++ {
		mustQuery(t, c, "INSERT INTO "+itKeyspace+".kblob (k) VALUES (?)", frame.Value{Bytes: bytes.Repeat([]byte{0xff}, n)})
		mustQuery(t, c, "INSERT INTO "+itKeyspace+".kblob (k) VALUES (?)", frame.Value{Bytes: bytes.Repeat([]byte{0x80}, n)})
	}

	compared := 0
	check := func(table, sel string, nkey int) {
		rows := mustQuery(t, c, "SELECT "+sel+" FROM "+itKeyspace+"."+table)
		if rows == nil || rows.RowCount == 0 {
			t.Fatalf("%s: no rows", table)
		}
		it := rows.Iter()
		var cells [][]byte
		var ok bool
		n := 0
		for cells, ok = it.Next(cells); ok; cells, ok = it.Next(cells) {
			tok := cells[nkey]
			if len(tok) != 8 {
				t.Fatalf("%s: token cell of %d bytes", table, len(tok))
			}
			want := int64(binary.BigEndian.Uint64(tok))
			key, err := AppendRoutingKey(nil, cells[:nkey]...)
			if err != nil {
				t.Fatal(err)
			}
			if got := Murmur3Token(key); got != want {
				t.Errorf("%s key %x: Murmur3Token = %d, server token() = %d", table, key, got, want)
			}
			n++
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
		t.Logf("%s: %d keys agree with the server", table, n)
		compared += n
	}
	check("kblob", "k, token(k)", 1)
	check("ktext", "k, token(k)", 1)
	check("kint", "k, token(k)", 1)
	check("kcomp", "k1, k2, k3, token(k1, k2, k3)", 3)
	t.Logf("%d keys compared in all", compared)
}

// TestRealNodeReplicas builds a ring from the node's system.local and
// checks that the node is the replica of every token range of a keyspace.
func TestRealNodeReplicas(t *testing.T) {
	c := dialNode(t)
	mustQuery(t, c, "CREATE KEYSPACE IF NOT EXISTS "+itKeyspace+" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	rows := mustQuery(t, c, "SELECT host_id, data_center, rack, partitioner, tokens FROM system.local")
	it := rows.Iter()
	cells, ok := it.Next(nil)
	if !ok {
		t.Fatal("system.local: no row")
	}
	cols := rows.Metadata.Columns
	var h Host
	copy(h.ID[:], cells[0])
	var partitioner string
	var tokens []string
	for i, dst := range []any{&h.Datacenter, &h.Rack, &partitioner, &tokens} {
		if err := types.Decode(cols[i+1].Type, cells[i+1], dst); err != nil {
			t.Fatalf("%s: %v", cols[i+1].Name, err)
		}
	}
	p, err := PartitionerByName(partitioner)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := NewRing(p, []TokenOwner{{Host: &h, Tokens: tokens}})
	if err != nil {
		t.Fatal(err)
	}
	if ring.Len() != len(tokens) {
		t.Fatalf("ring of %d tokens, node reports %d", ring.Len(), len(tokens))
	}

	ksRows := mustQuery(t, c, "SELECT keyspace_name, replication FROM system_schema.keyspaces")
	reps := map[string]Replication{}
	kit := ksRows.Iter()
	for kc, ok := kit.Next(nil); ok; kc, ok = kit.Next(kc) {
		var name string
		var m map[string]string
		if err := types.Decode(ksRows.Metadata.Columns[0].Type, kc[0], &name); err != nil {
			t.Fatal(err)
		}
		if err := types.Decode(ksRows.Metadata.Columns[1].Type, kc[1], &m); err != nil {
			t.Fatal(err)
		}
		rep, err := ParseReplication(m)
		if err != nil {
			t.Errorf("keyspace %s: %v", name, err)
			continue
		}
		reps[name] = rep
	}
	for _, ks := range []string{itKeyspace, "system_auth", "system_distributed", "system_traces"} {
		if _, ok := reps[ks]; !ok {
			t.Fatalf("keyspace %s missing from system_schema.keyspaces", ks)
		}
	}
	snap := NewSnapshot(ring, &h, reps)
	r := rand.New(rand.NewPCG(2, 3))
	for ks, rep := range reps {
		for i := 0; i < 200; i++ {
			tok := p.Token(randomBytes(r, 0, 40))
			got := snap.Replicas(ks, tok)
			if len(got) != 1 || got[0] != &h {
				t.Fatalf("keyspace %s (%v) token %v: replicas %v, want the one node", ks, rep, tok, got)
			}
		}
		for i := 0; i < ring.Len(); i++ {
			if got := snap.Replicas(ks, ring.Token(i)); len(got) != 1 || got[0] != &h {
				t.Fatalf("keyspace %s: ring token %v: replicas %v", ks, ring.Token(i), got)
			}
		}
	}
	if !strings.HasSuffix(p.Name(), "Murmur3Partitioner") {
		t.Logf("node uses %s", p.Name())
	}
}

// TestRealNodeMurmur3Vectors checks the fixed table murmur3Vectors against
// the node (and prints corrected lines when one disagrees).
func TestRealNodeMurmur3Vectors(t *testing.T) {
	c := dialNode(t)
	for _, q := range []string{
		"CREATE KEYSPACE IF NOT EXISTS " + itKeyspace + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
		"CREATE TABLE IF NOT EXISTS " + itKeyspace + ".kvec1 (k blob PRIMARY KEY)",
		"CREATE TABLE IF NOT EXISTS " + itKeyspace + ".kvec2 (k1 blob, k2 blob, PRIMARY KEY ((k1, k2)))",
	} {
		mustQuery(t, c, q)
	}
	for _, v := range murmur3Vectors {
		_, parts := vectorKey(t, v.components)
		var rows *frame.Rows
		switch len(parts) {
		case 1:
			mustQuery(t, c, "INSERT INTO "+itKeyspace+".kvec1 (k) VALUES (?)", frame.Value{Bytes: parts[0]})
			rows = mustQuery(t, c, "SELECT token(k) FROM "+itKeyspace+".kvec1 WHERE k = ?", frame.Value{Bytes: parts[0]})
		case 2:
			vals := []frame.Value{{Bytes: append([]byte{}, parts[0]...)}, {Bytes: append([]byte{}, parts[1]...)}}
			mustQuery(t, c, "INSERT INTO "+itKeyspace+".kvec2 (k1, k2) VALUES (?, ?)", vals...)
			rows = mustQuery(t, c, "SELECT token(k1, k2) FROM "+itKeyspace+".kvec2 WHERE k1 = ? AND k2 = ?", vals...)
		default:
			t.Fatalf("vector of %d components", len(parts))
		}
		it := rows.Iter()
		cells, ok := it.Next(nil)
		if !ok || len(cells[0]) != 8 {
			t.Fatalf("%v: no token", v.components)
		}
		if got := int64(binary.BigEndian.Uint64(cells[0])); got != v.token {
			t.Errorf("server token of %q is %d; the table says %d:\n\t{%#v, %d},", v.components, got, v.token, v.components, got)
		}
	}
}
