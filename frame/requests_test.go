package frame

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// roundTripBody encodes m for v, decodes the body, re-encodes the result and
// requires identical bytes. It returns the decoded message and the body.
func roundTripBody(t *testing.T, m Message, v Version) (Message, []byte) {
	t.Helper()
	prefix := []byte("prefix")
	full, err := m.AppendBody(prefix, v)
	if err != nil {
		t.Fatalf("encode %T v%d: %v", m, v, err)
	}
	if !bytes.HasPrefix(full, prefix) {
		t.Fatalf("encode %T clobbered the bytes already in dst", m)
	}
	body := full[len(prefix):]
	got, err := DecodeMessage(m.Opcode(), v, body, nil)
	if err != nil {
		t.Fatalf("decode %T v%d: %v\nbody %x", m, v, err, body)
	}
	again, err := got.AppendBody(nil, v)
	if err != nil {
		t.Fatalf("re-encode %T v%d: %v", m, v, err)
	}
	if !bytes.Equal(again, body) {
		t.Fatalf("re-encoded %T v%d differs\n got %x\nwant %x", m, v, again, body)
	}
	return got, body
}

func allFlags(v Version) []QueryFlags {
	n := 7
	if v == V5 {
		n = 9
	}
	out := make([]QueryFlags, 0, 1<<n)
	for f := range QueryFlags(1 << n) {
		out = append(out, f)
	}
	return out
}

// paramsWithValues returns parameters whose non-zero fields imply exactly the
// flags f, and what decoding them must give.
func paramsWithValues(f QueryFlags) (in, want QueryParams) {
	in.Consistency = LocalQuorum
	if f&QueryFlagValues != 0 {
		in.Values = []Value{{Bytes: []byte{0, 0, 0, 42}}, {}, UnsetValue, {Bytes: []byte{}}}
	}
	if f&QueryFlagNames != 0 {
		if in.Values != nil {
			in.Names = []string{"a", "b", "", "dd"}
		} else {
			in.Names = []string{} // the flag alone, as the spec allows
		}
	}
	in.SkipMetadata = f&QueryFlagSkipMetadata != 0
	if f&QueryFlagPageSize != 0 {
		in.PageSize = 5000
	}
	if f&QueryFlagPagingState != 0 {
		in.PagingState = []byte{0xde, 0xad}
	}
	if f&QueryFlagSerialConsistency != 0 {
		in.SerialConsistency = LocalSerial
	}
	if f&QueryFlagDefaultTimestamp != 0 {
		in.DefaultTimestamp = -1 // any non-zero value is sent
	}
	if f&QueryFlagKeyspace != 0 {
		in.Keyspace = "ks"
	}
	if f&QueryFlagNowInSeconds != 0 {
		in.NowInSeconds = 1700000000
	}
	want = in
	want.Flags = f
	if f&QueryFlagValues == 0 {
		want.Names = nil
	}
	return in, want
}

// paramsFlagsOnly returns parameters with every field zero and the flags f
// forced through Flags, and what decoding them must give.
func paramsFlagsOnly(f QueryFlags) (in, want QueryParams) {
	in.Flags = f
	want.Flags = f
	if f&QueryFlagValues != 0 {
		want.Values = []Value{}
		if f&QueryFlagNames != 0 {
			want.Names = []string{}
		}
	}
	want.SkipMetadata = f&QueryFlagSkipMetadata != 0
	return in, want
}

func TestQueryParamsEveryFlagCombination(t *testing.T) {
	for _, v := range []Version{V4, V5} {
		for _, f := range allFlags(v) {
			for variant, build := range map[string]func(QueryFlags) (QueryParams, QueryParams){
				"values": paramsWithValues, "flags": paramsFlagsOnly,
			} {
				in, want := build(f)
				name := fmt.Sprintf("v%d/%s/%s", v, variant, f)

				q := &Query{Query: "SELECT * FROM t", Params: in}
				got, body := roundTripBody(t, q, v)
				if !reflect.DeepEqual(got, &Query{Query: q.Query, Params: want}) {
					t.Fatalf("%s: QUERY decoded to\n%s\nwant\n%s", name, DescribeMessage(got), DescribeMessage(&Query{Query: q.Query, Params: want}))
				}
				// The flags on the wire are exactly f: after the [long
				// string] query and the [consistency].
				at := 4 + len(q.Query) + 2
				var wire QueryFlags
				if v == V5 {
					wire = QueryFlags(uint32(body[at])<<24 | uint32(body[at+1])<<16 | uint32(body[at+2])<<8 | uint32(body[at+3]))
				} else {
					wire = QueryFlags(body[at])
				}
				if wire != f {
					t.Fatalf("%s: wire flags %s, want %s", name, wire, f)
				}

				e := &Execute{ID: []byte{1, 2, 3}, Params: in}
				wantE := &Execute{ID: e.ID, Params: want}
				if v == V5 {
					e.ResultMetadataID = []byte{9, 8}
					wantE.ResultMetadataID = e.ResultMetadataID
				}
				got, _ = roundTripBody(t, e, v)
				if !reflect.DeepEqual(got, wantE) {
					t.Fatalf("%s: EXECUTE decoded to\n%s\nwant\n%s", name, DescribeMessage(got), DescribeMessage(wantE))
				}
			}
		}
	}
}

func TestBatchRoundTrip(t *testing.T) {
	stmts := []BatchStatement{
		{Query: "INSERT INTO t (k, v) VALUES (?, ?)", Values: []Value{{Bytes: []byte{1}}, UnsetValue}},
		{ID: []byte{0xab, 0xcd}, Values: []Value{{}, {Bytes: []byte{}}}},
		{ID: []byte{}, Values: []Value{}},
		{Query: "", Values: []Value{}},
	}
	for _, v := range []Version{V4, V5} {
		allowed := []QueryFlags{QueryFlagSerialConsistency, QueryFlagDefaultTimestamp}
		if v == V5 {
			allowed = append(allowed, QueryFlagKeyspace, QueryFlagNowInSeconds)
		}
		for mask := range 1 << len(allowed) {
			var f QueryFlags
			for i, bit := range allowed {
				if mask&(1<<i) != 0 {
					f |= bit
				}
			}
			for _, typ := range []BatchType{BatchLogged, BatchUnlogged, BatchCounter} {
				// Fields set: the flags follow from the values.
				b := &Batch{Type: typ, Statements: stmts, Consistency: Quorum}
				if f&QueryFlagSerialConsistency != 0 {
					b.SerialConsistency = Serial
				}
				if f&QueryFlagDefaultTimestamp != 0 {
					b.Timestamp = 1234567
				}
				if f&QueryFlagKeyspace != 0 {
					b.Keyspace = "ks"
				}
				if f&QueryFlagNowInSeconds != 0 {
					b.NowInSeconds = -5
				}
				want := *b
				want.Flags = f
				got, _ := roundTripBody(t, b, v)
				if !reflect.DeepEqual(got, &want) {
					t.Fatalf("v%d %s %s: decoded to\n%s\nwant\n%s", v, typ, f, DescribeMessage(got), DescribeMessage(&want))
				}
				// Flags only: zero values are still sent.
				b = &Batch{Type: typ, Statements: stmts[:1], Flags: f}
				want = *b
				got, _ = roundTripBody(t, b, v)
				if !reflect.DeepEqual(got, &want) {
					t.Fatalf("v%d %s flags-only %s: decoded to\n%s\nwant\n%s", v, typ, f, DescribeMessage(got), DescribeMessage(&want))
				}
			}
		}
	}
	// No statements at all.
	got, _ := roundTripBody(t, &Batch{}, V4)
	if want := (&Batch{Statements: []BatchStatement{}}); !reflect.DeepEqual(got, want) {
		t.Fatalf("empty batch decoded to %s", DescribeMessage(got))
	}
}

func TestSimpleRequestsRoundTrip(t *testing.T) {
	cases := []struct {
		in, want Message
	}{
		{NewStartup("lz4", "cqlwire", "0.1"), NewStartup("lz4", "cqlwire", "0.1")},
		{&Startup{}, &Startup{Options: map[string]string{}}},
		{&Options{}, &Options{}},
		{&AuthResponse{}, &AuthResponse{}},
		{&AuthResponse{Token: []byte{}}, &AuthResponse{Token: []byte{}}},
		{&AuthResponse{Token: []byte("\x00u\x00p")}, &AuthResponse{Token: []byte("\x00u\x00p")}},
		{&Register{}, &Register{EventTypes: []string{}}},
		{&Register{EventTypes: []string{EventTopologyChange, EventStatusChange, EventSchemaChange}},
			&Register{EventTypes: []string{EventTopologyChange, EventStatusChange, EventSchemaChange}}},
	}
	for _, v := range []Version{V4, V5} {
		for _, c := range cases {
			got, _ := roundTripBody(t, c.in, v)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("v%d %T: decoded to\n%s\nwant\n%s", v, c.in, DescribeMessage(got), DescribeMessage(c.want))
			}
		}
	}
	s := NewStartup("", "", "")
	if len(s.Options) != 1 || s.Options[StartupCQLVersion] != DefaultCQLVersion {
		t.Errorf("NewStartup with no extras = %v", s.Options)
	}
}

func TestPrepareRoundTrip(t *testing.T) {
	cases := []struct {
		v        Version
		in, want *Prepare
	}{
		{V4, &Prepare{Query: "SELECT 1"}, &Prepare{Query: "SELECT 1"}},
		{V5, &Prepare{Query: "SELECT 1"}, &Prepare{Query: "SELECT 1"}},
		{V5, &Prepare{Query: "q", Keyspace: "ks"}, &Prepare{Query: "q", Keyspace: "ks", Flags: PrepareFlagKeyspace}},
		{V5, &Prepare{Query: "q", Flags: PrepareFlagKeyspace}, &Prepare{Query: "q", Flags: PrepareFlagKeyspace}},
	}
	for _, c := range cases {
		got, body := roundTripBody(t, c.in, c.v)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("v%d: %s decoded to %s", c.v, DescribeMessage(c.in), DescribeMessage(got))
		}
		wantLen := 4 + len(c.in.Query)
		if c.v == V5 {
			wantLen += 4
			if c.want.Flags != 0 {
				wantLen += 2 + len(c.in.Keyspace)
			}
		}
		if len(body) != wantLen {
			t.Errorf("v%d %+v: body of %d bytes, want %d", c.v, c.in, len(body), wantLen)
		}
	}
}

// wantEncodeError checks that encoding m for v fails with an EncodeError on
// field, that the message names the field, and that dst is left as it was.
func wantEncodeError(t *testing.T, m Message, v Version, field string, is error) {
	t.Helper()
	dst := []byte{1, 2, 3}
	out, err := m.AppendBody(dst, v)
	var ee *EncodeError
	if !errors.As(err, &ee) || ee.Field != field {
		t.Errorf("%T v%d: got error %v, want an EncodeError on field %q", m, v, err, field)
		return
	}
	if !strings.Contains(err.Error(), "field "+field+":") {
		t.Errorf("%T v%d: error text %q does not name the field %q", m, v, err, field)
	}
	if is != nil && !errors.Is(err, is) {
		t.Errorf("%T v%d: error %v does not wrap %v", m, v, err, is)
	}
	if !bytes.Equal(out, dst) {
		t.Errorf("%T v%d: failed encode returned %x, want the untouched %x", m, v, out, dst)
	}
}

func TestEncodeErrors(t *testing.T) {
	tooMany := make([]Value, math.MaxUint16+1)
	var unsupported *UnsupportedVersionError
	_ = unsupported
	cases := []struct {
		name  string
		m     Message
		v     Version
		field string
		is    error
	}{
		{"query keyspace in v4", &Query{Params: QueryParams{Keyspace: "ks"}}, V4, "keyspace", errV5Only},
		{"query keyspace flag in v4", &Query{Params: QueryParams{Flags: QueryFlagKeyspace}}, V4, "keyspace", errV5Only},
		{"query now in v4", &Query{Params: QueryParams{NowInSeconds: 1}}, V4, "now_in_seconds", errV5Only},
		{"execute now flag in v4", &Execute{Params: QueryParams{Flags: QueryFlagNowInSeconds}}, V4, "now_in_seconds", errV5Only},
		{"execute metadata id in v4", &Execute{ResultMetadataID: []byte{1}}, V4, "result_metadata_id", errV5Only},
		{"prepare keyspace in v4", &Prepare{Keyspace: "ks"}, V4, "keyspace", errV5Only},
		{"prepare unknown flag", &Prepare{Flags: 0x2}, V5, "flags", nil},
		{"batch keyspace in v4", &Batch{Keyspace: "ks"}, V4, "keyspace", errV5Only},
		{"batch now in v4", &Batch{NowInSeconds: 7}, V4, "now_in_seconds", errV5Only},
		{"query unknown flag v4", &Query{Params: QueryParams{Flags: 0x200}}, V4, "flags", nil},
		{"query unknown flag v5", &Query{Params: QueryParams{Flags: 0x200}}, V5, "flags", nil},
		{"too many values", &Query{Params: QueryParams{Values: tooMany}}, V4, "values", nil},
		{"too many execute values", &Execute{Params: QueryParams{Values: tooMany}}, V5, "values", nil},
		{"names count", &Query{Params: QueryParams{Values: make([]Value, 2), Names: []string{"a"}}}, V4, "names", nil},
		{"names flag without names", &Query{Params: QueryParams{Values: make([]Value, 1), Flags: QueryFlagNames}}, V4, "names", nil},
		{"names without values", &Query{Params: QueryParams{Names: []string{"a"}}}, V5, "names", nil},
		{"name too long", &Query{Params: QueryParams{Values: make([]Value, 3), Names: []string{"a", "b", strings.Repeat("x", 70000)}}}, V4, "names[2]", nil},
		{"keyspace too long", &Query{Params: QueryParams{Keyspace: strings.Repeat("k", 70000)}}, V5, "keyspace", nil},
		{"execute id too long", &Execute{ID: make([]byte, 70000)}, V4, "id", nil},
		{"query in v3", &Query{}, V3, "version", nil},
		{"execute in v6", &Execute{}, 6, "version", nil},
		{"batch in v3", &Batch{}, V3, "version", nil},
		{"prepare in v3", &Prepare{}, V3, "version", nil},
		{"batch names flag", &Batch{Flags: QueryFlagNames}, V5, "flags", errBatchNames},
		{"batch values flag", &Batch{Flags: QueryFlagValues}, V4, "flags", nil},
		{"batch type", &Batch{Type: 3}, V4, "type", nil},
		{"batch too many statements", &Batch{Statements: make([]BatchStatement, math.MaxUint16+1)}, V4, "statements", nil},
		{"batch too many values", &Batch{Statements: []BatchStatement{{}, {Values: tooMany}}}, V5, "statements[1].values", nil},
		{"batch query and id", &Batch{Statements: []BatchStatement{{Query: "q", ID: []byte{1}}}}, V4, "statements[0].query", nil},
		{"batch id too long", &Batch{Statements: []BatchStatement{{}, {}, {ID: make([]byte, 70000)}}}, V4, "statements[2].id", nil},
		{"startup value too long", &Startup{Options: map[string]string{"K": strings.Repeat("v", 70000)}}, V4, "options", nil},
		{"register too many", &Register{EventTypes: make([]string, 70000)}, V5, "event_types", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantEncodeError(t, c.m, c.v, c.field, c.is) })
	}
	// The version errors say which version.
	_, err := (&Query{}).AppendBody(nil, V3)
	if !errors.As(err, &unsupported) || unsupported.Version != V3 {
		t.Errorf("v3 QUERY: got %v, want an UnsupportedVersionError for 3", err)
	}
}

// wantDecodeError checks that decoding body fails with a DecodeError on
// field at offset, named in the error text.
func wantDecodeError(t *testing.T, op Opcode, v Version, body []byte, field string, offset int, is error) {
	t.Helper()
	m, err := DecodeMessage(op, v, body, nil)
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Errorf("%s v%d %x: got %v, %v; want a DecodeError on %q", op, v, body, m, err, field)
		return
	}
	if de.Field != field || de.Offset != offset || de.Message != op.String() {
		t.Errorf("%s v%d: got %s/%q at %d (%v), want %s/%q at %d", op, v, de.Message, de.Field, de.Offset, err, op, field, offset)
	}
	if !strings.Contains(err.Error(), "field "+field+" at offset") {
		t.Errorf("error text %q does not name the field %q", err, field)
	}
	if is != nil && !errors.Is(err, is) {
		t.Errorf("error %v does not wrap %v", err, is)
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestDecodeErrors(t *testing.T) {
	q := []byte{0, 0, 0, 1, 'q'} // [long string] "q"
	one := []byte{0, 1}          // consistency ONE
	cases := []struct {
		name   string
		op     Opcode
		v      Version
		body   []byte
		field  string
		offset int
		is     error
	}{
		{"v4 flag 0x80", OpQuery, V4, cat(q, one, []byte{0x80}), "flags", 7, nil},
		{"v5 flag 0x200", OpQuery, V5, cat(q, one, []byte{0, 0, 2, 0}), "flags", 7, nil},
		{"v5 high flag", OpExecute, V5, cat([]byte{0, 0, 0, 0}, one, []byte{0x80, 0, 0, 0}), "flags", 6, nil},
		{"value length -3", OpQuery, V4, cat(q, one, []byte{1, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfd}), "values[1]", 14, nil},
		{"truncated value", OpQuery, V4, cat(q, one, []byte{1, 0, 1, 0, 0, 0, 5, 1}), "values[0]", 14, ErrTruncated},
		{"value count too big", OpQuery, V4, cat(q, one, []byte{1, 0, 3, 0, 0, 0, 0}), "values", 10, ErrTruncated},
		{"truncated name", OpQuery, V5, cat(q, one, []byte{0, 0, 0, 0x41, 0, 2, 0, 1, 'a', 0, 0, 0, 0, 0, 9, 'b', 'b', 'b', 'b', 'b'}), "names[1]", 22, ErrTruncated},
		{"trailing bytes", OpQuery, V4, cat(q, one, []byte{0, 9}), "end of body", 8, nil},
		{"huge query", OpQuery, V4, []byte{0x7f, 0xff, 0xff, 0xff}, "query", 4, ErrTooLarge},
		{"negative query length", OpPrepare, V4, []byte{0xff, 0xff, 0xff, 0xff}, "query", 4, nil},
		{"prepare v5 flags", OpPrepare, V5, cat(q, []byte{0, 0, 0, 2}), "flags", 5, nil},
		{"prepare v5 keyspace truncated", OpPrepare, V5, cat(q, []byte{0, 0, 0, 1, 0, 3, 'k'}), "keyspace", 11, ErrTruncated},
		{"execute v5 no metadata id", OpExecute, V5, cat([]byte{0, 1, 7}), "result_metadata_id", 3, ErrTruncated},
		{"query in v3", OpQuery, V3, cat(q, one, []byte{0}), "version", 0, nil},
		{"batch in v6", OpBatch, 6, []byte{0, 0, 0, 0, 1, 0}, "version", 0, nil},
		{"batch type 3", OpBatch, V4, []byte{3, 0, 0, 0, 1, 0}, "type", 0, nil},
		{"batch kind 2", OpBatch, V4, []byte{0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0}, "statements[1].kind", 10, nil},
		{"batch bad value", OpBatch, V4, []byte{0, 0, 1, 1, 0, 1, 0xaa, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xf0, 0, 1, 0}, "statements[0].values[1]", 13, nil},
		{"batch names flag", OpBatch, V4, []byte{1, 0, 0, 0, 1, 0x40}, "flags", 5, errBatchNames},
		{"batch values flag", OpBatch, V5, []byte{1, 0, 0, 0, 1, 0, 0, 0, 1}, "flags", 5, nil},
		{"batch v4 keyspace flag", OpBatch, V4, []byte{1, 0, 0, 0, 1, 0x80}, "flags", 5, nil},
		{"batch statement count", OpBatch, V4, []byte{1, 0, 2, 0, 0, 0, 0, 0, 0}, "statements", 3, ErrTruncated},
		{"batch v5 now truncated", OpBatch, V5, []byte{1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0}, "now_in_seconds", 9, ErrTruncated},
		{"startup count", OpStartup, V4, []byte{0, 5, 0, 0, 0, 0}, "options", 2, ErrTruncated},
		{"register truncated", OpRegister, V5, []byte{0, 1, 0, 4, 'a'}, "event_types", 4, ErrTruncated},
		{"auth response truncated", OpAuthResponse, V4, []byte{0, 0, 0, 4, 1}, "token", 4, ErrTruncated},
		{"options with a body", OpOptions, V4, []byte{0}, "end of body", 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantDecodeError(t, c.op, c.v, c.body, c.field, c.offset, c.is) })
	}
}

// requestSamples are encoded bodies of every request kind, with most
// optional fields, for truncation tests.
func requestSamples() []struct {
	v Version
	m Message
} {
	params := QueryParams{
		Consistency: LocalQuorum, Values: []Value{{Bytes: []byte{1, 2}}, {}, UnsetValue}, Names: []string{"a", "b", "c"},
		SkipMetadata: true, PageSize: 100, PagingState: []byte{9, 9, 9}, SerialConsistency: LocalSerial,
		DefaultTimestamp: 42,
	}
	params5 := params
	params5.Keyspace = "ks"
	params5.NowInSeconds = 99
	batch := Batch{Type: BatchUnlogged, Consistency: One, SerialConsistency: Serial, Timestamp: 7,
		Statements: []BatchStatement{{Query: "q", Values: []Value{{Bytes: []byte{1}}}}, {ID: []byte{5, 6}, Values: []Value{UnsetValue}}}}
	batch5 := batch
	batch5.Keyspace = "ks"
	batch5.NowInSeconds = 3
	return []struct {
		v Version
		m Message
	}{
		{V4, NewStartup("lz4", "d", "1")},
		{V4, &AuthResponse{Token: []byte("\x00u\x00p")}},
		{V4, &Register{EventTypes: []string{EventSchemaChange, EventStatusChange}}},
		{V4, &Query{Query: "SELECT", Params: params}},
		{V5, &Query{Query: "SELECT", Params: params5}},
		{V4, &Prepare{Query: "SELECT"}},
		{V5, &Prepare{Query: "SELECT", Keyspace: "ks"}},
		{V4, &Execute{ID: []byte{1, 2, 3, 4}, Params: params}},
		{V5, &Execute{ID: []byte{1, 2, 3, 4}, ResultMetadataID: []byte{5, 6}, Params: params5}},
		{V4, &batch},
		{V5, &batch5},
	}
}

func TestDecodeTruncatedAtEveryOffset(t *testing.T) {
	for _, s := range requestSamples() {
		body, err := s.m.AppendBody(nil, s.v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeMessage(s.m.Opcode(), s.v, body, nil); err != nil {
			t.Fatalf("%T v%d: full body: %v", s.m, s.v, err)
		}
		for n := range len(body) {
			_, err := DecodeMessage(s.m.Opcode(), s.v, body[:n], nil)
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrTruncated) {
				t.Fatalf("%T v%d truncated to %d of %d bytes: got %v, want a DecodeError wrapping ErrTruncated", s.m, s.v, n, len(body), err)
			}
			if de.Offset > n {
				t.Fatalf("%T v%d truncated to %d: error offset %d is past the end", s.m, s.v, n, de.Offset)
			}
		}
		// The same through a whole envelope whose length field is cut short.
		env := &Envelope{Version: s.v, Stream: 3, Message: s.m}
		frame, err := AppendEnvelope(nil, env, nil)
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(frame) {
			if _, _, err := DecodeEnvelope(frame[:n], nil); !errors.Is(err, ErrTruncated) {
				t.Fatalf("%T v%d envelope truncated to %d: got %v", s.m, s.v, n, err)
			}
		}
	}
}

func TestDecodeRespectsLimits(t *testing.T) {
	body, err := (&Query{Query: strings.Repeat("x", 100)}).AppendBody(nil, V4)
	if err != nil {
		t.Fatal(err)
	}
	_, err = DecodeMessage(OpQuery, V4, body, &Limits{MaxFrameSize: 50})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

func TestQueryFlagsString(t *testing.T) {
	cases := map[QueryFlags]string{
		0:                                      "0x0",
		QueryFlagValues | QueryFlagPageSize:    "0x5 (VALUES|PAGE_SIZE)",
		QueryFlagNowInSeconds | 0x400:          "0x500 (NOW_IN_SECONDS|0x400)",
		QueryFlagKeyspace | QueryFlagNames:     "0xc0 (NAMES_FOR_VALUES|KEYSPACE)",
		QueryFlagSerialConsistency | 0x8000000: "0x8000010 (SERIAL_CONSISTENCY|0x8000000)",
	}
	for f, want := range cases {
		if got := f.String(); got != want {
			t.Errorf("%#x: got %q, want %q", uint32(f), got, want)
		}
	}
	if got := PrepareFlagKeyspace.String(); got != "0x1 (KEYSPACE)" {
		t.Errorf("PrepareFlagKeyspace = %q", got)
	}
	if got := BatchType(7).String(); got != "batch_type(7)" {
		t.Errorf("BatchType(7) = %q", got)
	}
}

func TestRequestOpcodes(t *testing.T) {
	for _, m := range []Message{&Startup{}, &Options{}, &AuthResponse{}, &Register{}, &Query{}, &Prepare{}, &Execute{}, &Batch{}} {
		op := m.Opcode()
		if !op.IsRequest() {
			t.Errorf("%T: opcode %s is not a request", m, op)
		}
		got, known := decodeRequest(op, V4, newReader(nil, op.String(), nil))
		if !known {
			t.Errorf("%s not known to decodeRequest", op)
		}
		if got != nil && reflect.TypeOf(got) != reflect.TypeOf(m) {
			t.Errorf("%s decodes to %T, want %T", op, got, m)
		}
	}
	if _, known := decodeRequest(OpResult, V4, newReader(nil, "RESULT", nil)); known {
		t.Error("decodeRequest claims RESULT")
	}
}

func TestEncodeExecuteAllocations(t *testing.T) {
	env, _ := benchExecute()
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		buf, err = AppendEnvelope(buf[:0], env, nil)
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("AppendEnvelope(EXECUTE with 10 values) allocates %.1f times per call, want 0", allocs)
	}
}
