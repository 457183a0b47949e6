package workload

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cqlwire/cqlwire/types"
)

// Kind names a workload, as given to -workloads.
type Kind string

const (
	// Select reads one row of kv by its key: 3 columns (int, text, bigint).
	Select Kind = "select"
	// Insert10 writes one row of wide10: 10 columns of 10 different types.
	Insert10 Kind = "insert10"
	// VectorInsert writes one row of vectors: an int and a vector<float, 768>.
	VectorInsert Kind = "vector-insert"
	// VectorANN finds the ANNLimit nearest vectors to a vector<float, 768>.
	VectorANN Kind = "vector-ann"
	// Paged reads the PagedRows rows of one partition, page by page.
	Paged Kind = "paged"
	// Mixed is 80% Select and 20% Insert10, interleaved in every worker.
	Mixed Kind = "mixed"
)

// Kinds lists every workload, in the order results are shown.
var Kinds = []Kind{Select, Insert10, VectorInsert, VectorANN, Paged, Mixed}

// ParseKinds parses a comma-separated list of workload names.
func ParseKinds(s string) ([]Kind, error) {
	var out []Kind
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		found := false
		for _, k := range Kinds {
			if string(k) == name {
				out = append(out, k)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown workload %q (known: %s)", name, strings.Join(kindNames(), ", "))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no workload given")
	}
	return out, nil
}

func kindNames() []string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return s
}

// MixedIsWrite reports whether the i-th operation (from 0) of a Mixed
// worker is an insert: one in five, spread evenly.
func MixedIsWrite(i uint64) bool { return i%5 == 4 }

// Keyspace holds every table of the harness.
const Keyspace = "cqlbench"

// Sizes of the data set.
const (
	// KVRows is the number of rows of kv (keys 0 to KVRows-1).
	KVRows = 1000
	// Dim is the dimension of the vectors.
	Dim = 768
	// SeedVectors is the number of vectors the real node is seeded with
	// (ids 0 to SeedVectors-1); VectorInsert writes ids in the same range,
	// always with the same vector for an id, so ANN answers stay checkable.
	SeedVectors = 1000
	// ANNLimit is the number of neighbours VectorANN asks for.
	ANNLimit = 2
	// PagedRows is the number of rows of the paged partition.
	PagedRows = 10000
	// PagedPK is the partition key of the paged partition.
	PagedPK = 0
	// DefaultPageSize is the page size of Paged unless told otherwise.
	DefaultPageSize = 1000
	// WideKeys bounds the keys Insert10 writes, so that a long run on the
	// real node overwrites rows instead of growing the table without end.
	WideKeys = 1 << 20
)

// Column is a bind marker or a result column of a statement.
type Column struct {
	Name string
	Type *types.Type
}

// Statement is one prepared statement of a workload.
type Statement struct {
	Table  string
	CQL    string
	Params []Column
	Result []Column // nil for statements that return no rows
	// PKIndexes are the indexes of the bind markers that give the partition
	// key, as a server reports them in its Prepared answer (none for ANN,
	// which has no partition key restriction).
	PKIndexes []uint16
}

// The CQL types the tables use.
var (
	Int       = types.Native(types.Int)
	BigInt    = types.Native(types.Bigint)
	Text      = types.Native(types.Varchar)
	Double    = types.Native(types.Double)
	Boolean   = types.Native(types.Boolean)
	Timestamp = types.Native(types.Timestamp)
	UUID      = types.Native(types.UUID)
	Blob      = types.Native(types.Blob)
	Float     = types.Native(types.Float)
	Vector    = types.VectorOf(Float, Dim)
)

// The statements, one per table access.
var (
	SelectStmt = Statement{
		Table:     "kv",
		CQL:       "SELECT k, name, n FROM cqlbench.kv WHERE k = ?",
		Params:    []Column{{"k", Int}},
		Result:    []Column{{"k", Int}, {"name", Text}, {"n", BigInt}},
		PKIndexes: []uint16{0},
	}
	Insert10Stmt = Statement{
		Table: "wide10",
		CQL: "INSERT INTO cqlbench.wide10 (k, c_int, c_bigint, c_text, c_double, c_bool, c_ts, c_uuid, c_blob, c_float) " +
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		Params: []Column{
			{"k", BigInt}, {"c_int", Int}, {"c_bigint", BigInt}, {"c_text", Text}, {"c_double", Double},
			{"c_bool", Boolean}, {"c_ts", Timestamp}, {"c_uuid", UUID}, {"c_blob", Blob}, {"c_float", Float},
		},
		PKIndexes: []uint16{0},
	}
	VectorInsertStmt = Statement{
		Table:     "vectors",
		CQL:       "INSERT INTO cqlbench.vectors (id, embedding) VALUES (?, ?)",
		Params:    []Column{{"id", Int}, {"embedding", Vector}},
		PKIndexes: []uint16{0},
	}
	VectorANNStmt = Statement{
		Table:  "vectors",
		CQL:    fmt.Sprintf("SELECT id, embedding FROM cqlbench.vectors ORDER BY embedding ANN OF ? LIMIT %d", ANNLimit),
		Params: []Column{{"embedding", Vector}},
		Result: []Column{{"id", Int}, {"embedding", Vector}},
	}
	PagedStmt = Statement{
		Table:     "paged",
		CQL:       "SELECT ck, v FROM cqlbench.paged WHERE pk = ?",
		Params:    []Column{{"pk", Int}},
		Result:    []Column{{"ck", Int}, {"v", BigInt}},
		PKIndexes: []uint16{0},
	}
)

// Statements lists every statement, for preparing them all at once.
var Statements = []*Statement{&SelectStmt, &Insert10Stmt, &VectorInsertStmt, &VectorANNStmt, &PagedStmt}

// Schema is the CQL that creates the keyspace and tables on a real node,
// in order. Every statement is idempotent.
var Schema = []string{
	"CREATE KEYSPACE IF NOT EXISTS cqlbench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
	"CREATE TABLE IF NOT EXISTS cqlbench.kv (k int PRIMARY KEY, name text, n bigint)",
	"CREATE TABLE IF NOT EXISTS cqlbench.wide10 (k bigint PRIMARY KEY, c_int int, c_bigint bigint, c_text text, " +
		"c_double double, c_bool boolean, c_ts timestamp, c_uuid uuid, c_blob blob, c_float float)",
	fmt.Sprintf("CREATE TABLE IF NOT EXISTS cqlbench.vectors (id int PRIMARY KEY, embedding vector<float, %d>)", Dim),
	"CREATE CUSTOM INDEX IF NOT EXISTS vectors_embedding_ann ON cqlbench.vectors (embedding) " +
		"USING 'StorageAttachedIndex' WITH OPTIONS = {'similarity_function': 'cosine'}",
	"CREATE TABLE IF NOT EXISTS cqlbench.paged (pk int, ck int, v bigint, PRIMARY KEY (pk, ck))",
	// seeded records which version of the data set a node holds, so that a
	// second run skips seeding.
	"CREATE TABLE IF NOT EXISTS cqlbench.seeded (name text PRIMARY KEY, version int)",
}

// DataVersion changes whenever the seeded data changes, so that nodes seeded
// by an older harness are seeded again.
const DataVersion = 1

// kvNames holds the name column of kv, so that checking a row costs no
// formatting.
var kvNames = func() []string {
	s := make([]string, KVRows)
	for k := range s {
		s[k] = fmt.Sprintf("name-%04d", k)
	}
	return s
}()

// KVName is the name column of row k of kv (0 <= k < KVRows).
func KVName(k int32) string { return kvNames[k] }

// KVN is the n column of row k of kv.
func KVN(k int32) int64 { return int64(k)*1_000_003 + 7 }

// SelectKey is the key that worker w reads in its i-th operation: workers
// walk the table from different starting points.
func SelectKey(w int, i uint64) int32 { return int32((uint64(w)*7919 + i) % KVRows) }

// VectorAt is element j of the vector stored with id: small integers over
// 1000, so that every value is exact in float32 and every vector is non-zero
// (cosine similarity needs that).
func VectorAt(id int32, j int) float32 {
	return float32((int64(id)*7919+int64(j)*104729)%1000+1) / 1000
}

// FillVector writes the vector of id into dst[:Dim] and returns it.
func FillVector(dst []float32, id int32) []float32 {
	dst = dst[:0]
	for j := range Dim {
		dst = append(dst, VectorAt(id, j))
	}
	return dst
}

// seedVectors holds the vectors of ids 0 to SeedVectors-1 (3 MB), so that
// neither binding a vector nor checking one costs a worker 768 divisions.
var seedVectors = sync.OnceValue(func() [][]float32 {
	vs := make([][]float32, SeedVectors)
	for id := range vs {
		vs[id] = FillVector(make([]float32, 0, Dim), int32(id))
	}
	return vs
})

// Vec returns the vector of id, 0 <= id < SeedVectors. The slice is shared:
// never modify it.
func Vec(id int32) []float32 { return seedVectors()[id] }

// IsVector reports whether v is the vector of id.
func IsVector(v []float32, id int32) bool {
	if id < 0 || id >= SeedVectors {
		return len(v) == Dim && slices.Equal(v, FillVector(make([]float32, 0, Dim), id))
	}
	return slices.Equal(v, Vec(id))
}

// VectorID is the id that worker w writes (VectorInsert) or searches near
// (VectorANN) in its i-th operation.
func VectorID(w int, i uint64) int32 { return int32((uint64(w)*104729 + i) % SeedVectors) }

// PagedV is the v column of row ck of the paged partition.
func PagedV(ck int32) int64 { return int64(ck)*7 + 3 }

// Wide10 is one row of wide10 as Go values, in column order.
type Wide10 struct {
	K      int64
	Int    int32
	BigInt int64
	Text   string
	Double float64
	Bool   bool
	TS     time.Time
	UUID   [16]byte
	Blob   []byte
	Float  float32
}

var wideTexts = [...]string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}

// wideBlob is the blob of every wide10 row: the values' content does not
// matter to the benchmark, only their types and sizes.
var wideBlob = []byte("0123456789abcdef0123456789abcdef")

// WideRow returns the row that worker w writes in its i-th operation. It
// allocates nothing.
func WideRow(w int, i uint64) Wide10 {
	k := int64((uint64(w)<<16 + i) % WideKeys)
	var id [16]byte
	for b := range 8 {
		id[b] = byte(k >> (8 * b))
		id[15-b] = byte(w >> (8 * (b % 4)))
	}
	id[6] = id[6]&0x0f | 0x40 // a version 4 UUID
	id[8] = id[8]&0x3f | 0x80
	return Wide10{
		K:      k,
		Int:    int32(k) * 3,
		BigInt: k * 1_000_000_007,
		Text:   wideTexts[k%int64(len(wideTexts))],
		Double: float64(k) / 7,
		Bool:   k%2 == 0,
		TS:     time.UnixMilli(1_700_000_000_000 + k).UTC(),
		UUID:   id,
		Blob:   wideBlob,
		Float:  float32(k%1000) / 8,
	}
}
