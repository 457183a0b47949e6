package frame

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"slices"
)

// Value is one bound value of a QUERY, EXECUTE or BATCH: bytes, null, or
// unset. The zero Value is null. A non-nil empty Bytes is an empty value
// (length 0), which is not the same as null.
type Value struct {
	Bytes []byte
	Unset bool // "unset" (length -2): leave the column as it is
}

// IsNull reports whether v is the null value.
func (v Value) IsNull() bool { return v.Bytes == nil && !v.Unset }

// UnsetValue is the value that leaves a bound column unchanged.
var UnsetValue = Value{Unset: true}

// reader decodes protocol primitives from one message body. The first error
// sticks: later reads return zero values, so a decoder can read every field and
// check r.err once at the end.
type reader struct {
	buf []byte
	off int
	msg string // message name, for errors
	max int    // largest length prefix accepted (from Limits)
	err error
	// version is the protocol version of the message being decoded, for
	// the few fields whose validity depends on it (set by decodeMessage).
	version Version
	// rows, when not nil, is where a Rows result is decoded, so that
	// DecodeBody can allocate it together with its envelope.
	rows *Rows
}

func newReader(buf []byte, msg string, lim *Limits) *reader {
	return &reader{buf: buf, msg: msg, max: lim.maxFrameSize()}
}

func (r *reader) fail(field string, err error) {
	if r.err == nil {
		r.err = &DecodeError{Message: r.msg, Field: field, Offset: r.off, Err: err}
	}
}

func (r *reader) remaining() int { return len(r.buf) - r.off }

// need checks that n more bytes exist.
func (r *reader) need(field string, n int) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || n > r.remaining() {
		r.fail(field, fmt.Errorf("%w: need %d bytes, %d remain", ErrTruncated, n, r.remaining()))
		return false
	}
	return true
}

// count reads an element count and checks that count*minSize bytes remain,
// so that no slice is allocated for elements that cannot exist.
func (r *reader) count(field string, n int, minSize int) bool {
	if r.err != nil {
		return false
	}
	if n < 0 {
		r.fail(field, fmt.Errorf("negative count %d", n))
		return false
	}
	if n > r.remaining()/max(minSize, 1) {
		r.fail(field, fmt.Errorf("%w: count %d needs at least %d bytes, %d remain", ErrTruncated, n, n*minSize, r.remaining()))
		return false
	}
	return true
}

func (r *reader) byte1(field string) byte {
	if !r.need(field, 1) {
		return 0
	}
	b := r.buf[r.off]
	r.off++
	return b
}

func (r *reader) short(field string) uint16 {
	if !r.need(field, 2) {
		return 0
	}
	v := binary.BigEndian.Uint16(r.buf[r.off:])
	r.off += 2
	return v
}

func (r *reader) int32(field string) int32 {
	if !r.need(field, 4) {
		return 0
	}
	v := int32(binary.BigEndian.Uint32(r.buf[r.off:]))
	r.off += 4
	return v
}

func (r *reader) int64(field string) int64 {
	if !r.need(field, 8) {
		return 0
	}
	v := int64(binary.BigEndian.Uint64(r.buf[r.off:]))
	r.off += 8
	return v
}

// raw returns the next n bytes, aliasing the input.
func (r *reader) raw(field string, n int) []byte {
	if !r.need(field, n) {
		return nil
	}
	b := r.buf[r.off : r.off+n : r.off+n]
	r.off += n
	return b
}

// string reads a [string]: a [short] length and UTF-8 bytes.
func (r *reader) string(field string) string {
	n := int(r.short(field))
	return string(r.raw(field, n))
}

// longString reads a [long string]: an [int] length and UTF-8 bytes.
func (r *reader) longString(field string) string {
	n := r.int32(field)
	if r.err != nil {
		return ""
	}
	if n < 0 {
		r.fail(field, fmt.Errorf("negative length %d", n))
		return ""
	}
	if int(n) > r.max {
		r.fail(field, fmt.Errorf("%w: length %d, limit %d", ErrTooLarge, n, r.max))
		return ""
	}
	return string(r.raw(field, int(n)))
}

// bytes reads [bytes]: an [int] length (negative means null) and the bytes,
// aliasing the input. Null gives nil; empty gives a non-nil empty slice.
func (r *reader) bytes(field string) []byte {
	n := r.int32(field)
	if r.err != nil || n < 0 {
		return nil
	}
	if int(n) > r.max {
		r.fail(field, fmt.Errorf("%w: length %d, limit %d", ErrTooLarge, n, r.max))
		return nil
	}
	return r.raw(field, int(n))
}

// value reads a [value]: like [bytes], with -2 meaning unset.
func (r *reader) value(field string) Value {
	start := r.off
	n := r.int32(field)
	switch {
	case r.err != nil:
		return Value{}
	case n == -2:
		return UnsetValue
	case n == -1:
		return Value{}
	case n < 0:
		r.off = start
		r.fail(field, fmt.Errorf("invalid value length %d", n))
		return Value{}
	case int(n) > r.max:
		r.off = start
		r.fail(field, fmt.Errorf("%w: length %d, limit %d", ErrTooLarge, n, r.max))
		return Value{}
	}
	return Value{Bytes: r.raw(field, int(n))}
}

// shortBytes reads [short bytes]: a [short] length and the bytes (aliased).
func (r *reader) shortBytes(field string) []byte {
	n := int(r.short(field))
	return r.raw(field, n)
}

func (r *reader) uuid(field string) [16]byte {
	var u [16]byte
	copy(u[:], r.raw(field, 16))
	return u
}

func (r *reader) stringList(field string) []string {
	n := int(r.short(field))
	if !r.count(field, n, 2) {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.string(field)
	}
	return out
}

func (r *reader) stringMap(field string) map[string]string {
	n := int(r.short(field))
	if !r.count(field, n, 4) {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := r.string(field)
		m[k] = r.string(field)
	}
	return m
}

func (r *reader) stringMultimap(field string) map[string][]string {
	n := int(r.short(field))
	if !r.count(field, n, 4) {
		return nil
	}
	m := make(map[string][]string, n)
	for range n {
		k := r.string(field)
		m[k] = r.stringList(field)
	}
	return m
}

func (r *reader) bytesMap(field string) map[string][]byte {
	n := int(r.short(field))
	if !r.count(field, n, 6) {
		return nil
	}
	m := make(map[string][]byte, n)
	for range n {
		k := r.string(field)
		m[k] = r.bytes(field)
	}
	return m
}

// inetAddr reads an [inetaddr]: one byte of size (4 or 16) and the address.
func (r *reader) inetAddr(field string) netip.Addr {
	size := r.byte1(field)
	if r.err != nil {
		return netip.Addr{}
	}
	if size != 4 && size != 16 {
		r.off--
		r.fail(field, fmt.Errorf("inet address size %d, want 4 or 16", size))
		return netip.Addr{}
	}
	a, _ := netip.AddrFromSlice(r.raw(field, int(size)))
	return a
}

// inet reads an [inet]: an [inetaddr] and an [int] port.
func (r *reader) inet(field string) netip.AddrPort {
	a := r.inetAddr(field)
	start := r.off
	p := r.int32(field)
	if r.err == nil && (p < 0 || p > math.MaxUint16) {
		r.off = start
		r.fail(field, fmt.Errorf("port %d out of range", p))
	}
	return netip.AddrPortFrom(a, uint16(p))
}

// end fails if bytes remain after a message that must fill its body exactly.
func (r *reader) end() {
	if r.err == nil && r.off != len(r.buf) {
		r.fail("end of body", fmt.Errorf("%d unexpected trailing bytes", len(r.buf)-r.off))
	}
}

// Appending encoders. Each appends one primitive to dst and returns it.

func appendShort(dst []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(dst, v) }
func appendInt(dst []byte, v int32) []byte    { return binary.BigEndian.AppendUint32(dst, uint32(v)) }
func appendLong(dst []byte, v int64) []byte   { return binary.BigEndian.AppendUint64(dst, uint64(v)) }

// writer appends primitives and remembers the first encoding error, in the
// same sticky style as reader.
type writer struct {
	buf []byte
	msg string
	err error
}

func (w *writer) fail(field string, err error) {
	if w.err == nil {
		w.err = &EncodeError{Message: w.msg, Field: field, Err: err}
	}
}

func (w *writer) byte1(v byte)    { w.buf = append(w.buf, v) }
func (w *writer) short(v uint16)  { w.buf = appendShort(w.buf, v) }
func (w *writer) int32(v int32)   { w.buf = appendInt(w.buf, v) }
func (w *writer) int64(v int64)   { w.buf = appendLong(w.buf, v) }
func (w *writer) raw(b []byte)    { w.buf = append(w.buf, b...) }
func (w *writer) uuid(u [16]byte) { w.buf = append(w.buf, u[:]...) }

func (w *writer) string(field, s string) {
	if len(s) > math.MaxUint16 {
		w.fail(field, fmt.Errorf("string of %d bytes exceeds the [string] limit of 65535", len(s)))
		return
	}
	w.short(uint16(len(s)))
	w.buf = append(w.buf, s...)
}

func (w *writer) longString(field, s string) {
	if len(s) > math.MaxInt32 {
		w.fail(field, fmt.Errorf("string of %d bytes exceeds the [long string] limit", len(s)))
		return
	}
	w.int32(int32(len(s)))
	w.buf = append(w.buf, s...)
}

// bytes writes [bytes]; nil is written as null (-1).
func (w *writer) bytes(field string, b []byte) {
	if b == nil {
		w.int32(-1)
		return
	}
	if len(b) > math.MaxInt32 {
		w.fail(field, fmt.Errorf("value of %d bytes exceeds the [bytes] limit", len(b)))
		return
	}
	w.int32(int32(len(b)))
	w.buf = append(w.buf, b...)
}

func (w *writer) value(field string, v Value) {
	if v.Unset {
		w.int32(-2)
		return
	}
	w.bytes(field, v.Bytes)
}

func (w *writer) shortBytes(field string, b []byte) {
	if len(b) > math.MaxUint16 {
		w.fail(field, fmt.Errorf("%d bytes exceed the [short bytes] limit of 65535", len(b)))
		return
	}
	w.short(uint16(len(b)))
	w.buf = append(w.buf, b...)
}

func (w *writer) stringList(field string, l []string) {
	if len(l) > math.MaxUint16 {
		w.fail(field, fmt.Errorf("%d strings exceed the [string list] limit of 65535", len(l)))
		return
	}
	w.short(uint16(len(l)))
	for _, s := range l {
		w.string(field, s)
	}
}

// Maps are written in sorted key order so that encoding is deterministic.
// The wire does not fix an order, so a captured map may re-encode in a
// different order than it arrived: map order is not canonical.

func (w *writer) mapLen(field string, n int) bool {
	if n > math.MaxUint16 {
		w.fail(field, fmt.Errorf("%d entries exceed the map limit of 65535", n))
		return false
	}
	w.short(uint16(n))
	return true
}

func (w *writer) stringMap(field string, m map[string]string) {
	if !w.mapLen(field, len(m)) {
		return
	}
	for _, k := range sortedKeys(m) {
		w.string(field, k)
		w.string(field, m[k])
	}
}

func (w *writer) stringMultimap(field string, m map[string][]string) {
	if !w.mapLen(field, len(m)) {
		return
	}
	for _, k := range sortedKeys(m) {
		w.string(field, k)
		w.stringList(field, m[k])
	}
}

func (w *writer) bytesMap(field string, m map[string][]byte) {
	if !w.mapLen(field, len(m)) {
		return
	}
	for _, k := range sortedKeys(m) {
		w.string(field, k)
		w.bytes(field, m[k])
	}
}

func (w *writer) inetAddr(field string, a netip.Addr) {
	if !a.IsValid() {
		w.fail(field, fmt.Errorf("invalid address"))
		return
	}
	b := a.AsSlice()
	w.byte1(byte(len(b)))
	w.raw(b)
}

func (w *writer) inet(field string, ap netip.AddrPort) {
	w.inetAddr(field, ap.Addr())
	w.int32(int32(ap.Port()))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
