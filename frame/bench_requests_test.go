package frame

import "testing"

// benchExecute is an EXECUTE of a prepared statement with ten bound values,
// the shape of a typical write, and its encoded envelope.
func benchExecute() (*Envelope, []byte) {
	vals := make([]Value, 10)
	for i := range vals {
		vals[i] = Value{Bytes: []byte{0, 0, 0, byte(i), 'v', 'a', 'l', 'u', 'e'}}
	}
	vals[3] = Value{}
	vals[7] = UnsetValue
	env := &Envelope{Version: V5, Stream: 42, Message: &Execute{
		ID:               []byte{0x1d, 0x2c, 0x3b, 0x4a, 0x59, 0x68, 0x77, 0x86, 0x95, 0xa4, 0xb3, 0xc2, 0xd1, 0xe0, 0xff, 0x0e},
		ResultMetadataID: []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99},
		Params: QueryParams{Consistency: LocalQuorum, Values: vals, SkipMetadata: true, PageSize: 5000,
			DefaultTimestamp: 1700000000000000},
	}}
	b, err := AppendEnvelope(nil, env, nil)
	if err != nil {
		panic(err)
	}
	return env, b
}

func BenchmarkEncodeExecute10Values(b *testing.B) {
	env, want := benchExecute()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(want)))
	for b.Loop() {
		var err error
		buf, err = AppendEnvelope(buf[:0], env, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeExecute10ValuesBody(b *testing.B) {
	env, want := benchExecute()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(want) - HeaderSize))
	for b.Loop() {
		var err error
		buf, err = env.Message.AppendBody(buf[:0], V5)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeExecute10Values(b *testing.B) {
	_, frame := benchExecute()
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, _, err := DecodeEnvelope(frame, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchBatch() *Envelope {
	stmts := make([]BatchStatement, 20)
	for i := range stmts {
		stmts[i] = BatchStatement{ID: []byte("0123456789abcdef"), Values: []Value{
			{Bytes: []byte{0, 0, 0, byte(i)}}, {Bytes: []byte("some text value")}, {Bytes: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		}}
	}
	return &Envelope{Version: V4, Stream: 9, Message: &Batch{Type: BatchUnlogged, Statements: stmts,
		Consistency: Quorum, Timestamp: 1700000000000000}}
}

func BenchmarkEncodeBatch20x3(b *testing.B) {
	env := benchBatch()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = AppendEnvelope(buf[:0], env, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBatch20x3(b *testing.B) {
	frame, err := AppendEnvelope(nil, benchBatch(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, _, err := DecodeEnvelope(frame, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeQuery(b *testing.B) {
	env := &Envelope{Version: V4, Stream: 1, Message: &Query{Query: "SELECT * FROM ks.users WHERE id = ?",
		Params: QueryParams{Consistency: One, Values: []Value{{Bytes: []byte("0123456789abcdef")}}, PageSize: 5000}}}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = AppendEnvelope(buf[:0], env, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
}
