package frame

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// testMessage is a message used only to test envelope and describe code
// independently of the real message codecs.
type testMessage struct {
	Text  string
	Blob  []byte
	Vals  []Value
	Attrs map[string]int
}

func (testMessage) Opcode() Opcode { return OpOptions }

func (m testMessage) AppendBody(dst []byte, v Version) ([]byte, error) {
	return append(dst, m.Blob...), nil
}

func TestParseHeader(t *testing.T) {
	b := []byte{0x84, 0x0A, 0xFF, 0xFE, 0x08, 0x00, 0x00, 0x01, 0x02}
	h, err := ParseHeader(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{Version: V4, Response: true, Flags: FlagWarning | FlagTracing, Stream: -2, Opcode: OpResult, Length: 258}
	if h != want {
		t.Fatalf("got %+v, want %+v", h, want)
	}
	if got := AppendHeader(nil, h); !bytes.Equal(got, b) {
		t.Fatalf("AppendHeader = %x, want %x", got, b)
	}
}

func TestParseHeaderErrors(t *testing.T) {
	cases := []struct {
		name  string
		b     []byte
		lim   *Limits
		field string
		is    error
	}{
		{"short", []byte{0x04, 0, 0}, nil, "header", ErrTruncated},
		{"version 2", []byte{0x02, 0, 0, 0, 7, 0, 0, 0, 0}, nil, "version", nil},
		{"version 6", []byte{0x06, 0, 0, 0, 7, 0, 0, 0, 0}, nil, "version", nil},
		{"over default limit", []byte{0x84, 0, 0, 0, 8, 0x10, 0, 0, 1}, nil, "length", ErrTooLarge},
		{"over set limit", []byte{0x84, 0, 0, 0, 8, 0, 0, 4, 1}, &Limits{MaxFrameSize: 1024}, "length", ErrTooLarge},
	}
	for _, c := range cases {
		_, err := ParseHeader(c.b, c.lim)
		var de *DecodeError
		if !errors.As(err, &de) || de.Field != c.field {
			t.Errorf("%s: got %v, want a DecodeError on field %q", c.name, err, c.field)
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v does not wrap %v", c.name, err, c.is)
		}
	}
	var uv *UnsupportedVersionError
	if _, err := ParseHeader([]byte{0x06, 0, 0, 0, 7, 0, 0, 0, 0}, nil); !errors.As(err, &uv) || uv.Version != 6 {
		t.Errorf("version 6: got %v, want UnsupportedVersionError{6}", err)
	}
}

func TestEnvelopePrefixesRoundTrip(t *testing.T) {
	// A response carrying tracing id, warnings and a custom payload puts them
	// in that order before the message body.
	e := &Envelope{
		Version: V4, Response: true, Stream: 7, Tracing: true,
		TracingID:     [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		Warnings:      []string{"w"},
		CustomPayload: map[string][]byte{"k": {0xAA}},
		Message:       testMessage{Blob: []byte{}},
	}
	got, err := AppendEnvelope(nil, e, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x84, 0x0E, 0x00, 0x07, 0x05, 0, 0, 0, 31,
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, // tracing id
		0, 1, 0, 1, 'w', // warnings
		0, 1, 0, 1, 'k', 0, 0, 0, 1, 0xAA, // custom payload
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %x\nwant %x", got, want)
	}
	h, _ := ParseHeader(got, nil)
	r := newReader(got[HeaderSize:], "test", nil)
	if id := r.uuid("tracing_id"); id != e.TracingID {
		t.Errorf("tracing id %x", id)
	}
	if w := r.stringList("warnings"); len(w) != 1 || w[0] != "w" {
		t.Errorf("warnings %q", w)
	}
	if p := r.bytesMap("custom_payload"); len(p) != 1 || !bytes.Equal(p["k"], []byte{0xAA}) {
		t.Errorf("payload %v", p)
	}
	if h.Flags != FlagTracing|FlagWarning|FlagCustomPayload {
		t.Errorf("flags %x", h.Flags)
	}
}

func TestRequestTracingFlagHasNoID(t *testing.T) {
	e := &Envelope{Version: V5, Stream: 1, Tracing: true, Message: testMessage{Blob: []byte{9}}}
	got, err := AppendEnvelope(nil, e, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x05, 0x02, 0, 1, 0x05, 0, 0, 0, 1, 9}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
}

func TestAppendEnvelopeErrors(t *testing.T) {
	if _, err := AppendEnvelope(nil, &Envelope{Version: V4}, nil); err == nil {
		t.Error("no message: want an error")
	}
	long := strings.Repeat("x", 70000)
	e := &Envelope{Version: V4, Response: true, Warnings: []string{long}, Message: testMessage{}}
	dst := []byte{1, 2, 3}
	out, err := AppendEnvelope(dst, e, nil)
	var ee *EncodeError
	if !errors.As(err, &ee) || ee.Field != "warnings" {
		t.Fatalf("got %v, want an EncodeError on warnings", err)
	}
	if !bytes.Equal(out, dst) {
		t.Errorf("a failed append must leave dst as it was, got %x", out)
	}
}

func TestDecodeBodyTruncatedPrefixes(t *testing.T) {
	h := Header{Version: V4, Response: true, Flags: FlagTracing, Opcode: OpReady}
	_, err := DecodeBody(h, []byte{1, 2, 3}, nil)
	var de *DecodeError
	if !errors.As(err, &de) || de.Field != "tracing_id" || !errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v, want truncated tracing_id", err)
	}
	h = Header{Version: V4, Flags: FlagCompression, Opcode: OpOptions}
	if _, err := DecodeBody(h, nil, nil); err == nil || !strings.Contains(err.Error(), "no compression") {
		t.Fatalf("compressed body without compressor: got %v", err)
	}
}

func TestDescribe(t *testing.T) {
	e := &Envelope{Version: V4, Stream: 3, Message: testMessage{
		Text:  "hi",
		Blob:  []byte{0xCA, 0xFE},
		Vals:  []Value{{Bytes: []byte{1}}, {}, UnsetValue, {Bytes: []byte{}}},
		Attrs: map[string]int{"b": 2, "a": 1},
	}}
	want := `Version: 4
Response: false
Stream: 3
Tracing: false
Message: testMessage
  Text: "hi"
  Blob: 0xcafe
  Vals:
    - 0x01
    - null
    - unset
    - 0x
  Attrs:
    "a": 1
    "b": 2
`
	if got := Describe(e); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
