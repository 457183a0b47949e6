package types

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Append appends the encoding of v as a value of type t to dst: the bytes of
// one value, without its 4-byte length prefix.
//
// null reports a null value (v is nil, a nil pointer, slice or map): nothing
// is appended and the caller writes length -1. For [Unset], Append returns
// [ErrUnset] itself (unwrapped, so err == ErrUnset) and the caller writes
// length -2. Other errors are *[CodecError]. On any error dst is returned
// as it was given, without a partial encoding.
//
// The Go types each CQL type accepts are listed in the package
// documentation.
func Append(dst []byte, t *Type, v any) (out []byte, null bool, err error) {
	out, null, err = appendValue(dst, t, v, 0)
	if err != nil {
		return dst, false, err
	}
	return out, null, nil
}

// enc builds an encode error.
func enc(v any, t *Type, err error) *CodecError {
	return &CodecError{Op: "encode", GoType: goTypeName(v), CQLType: t.String(), Err: err}
}

// encValue builds an encode error that shows the offending value.
func encValue(v any, t *Type, value string, err error) *CodecError {
	e := enc(v, t, err)
	e.Value = value
	return e
}

func goTypeName(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}

// isNil reports a nil pointer, slice, map or interface inside v.
func isNil(v any) bool {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface, reflect.Func, reflect.Chan:
		return rv.IsNil()
	}
	return false
}

// deref follows pointers (and interfaces) to the value; ok is false if one
// is nil.
func deref(rv reflect.Value) (reflect.Value, bool) {
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return rv, false
		}
		rv = rv.Elem()
	}
	return rv, rv.IsValid()
}

func appendValue(dst []byte, t *Type, v any, depth int) ([]byte, bool, error) {
	if t == nil {
		return dst, false, &CodecError{Op: "encode", GoType: goTypeName(v), CQLType: "<nil type>", Err: errNilType}
	}
	if depth >= MaxDepth {
		return dst, false, enc(v, t, ErrTooDeep)
	}
	switch x := v.(type) {
	case nil:
		return dst, true, nil
	case UnsetValue, *UnsetValue:
		return dst, false, ErrUnset
	case Marshaler:
		if isNil(v) {
			return dst, true, nil
		}
		return x.AppendCQL(dst, t)
	case []float32:
		// The vector fast path, before any reflection.
		if t.Kind == Vector && t.Elem != nil && t.Elem.Kind == Float {
			return appendFloatVector(dst, t, v, x)
		}
	case *[]float32:
		if t.Kind == Vector && t.Elem != nil && t.Elem.Kind == Float && x != nil {
			return appendFloatVector(dst, t, v, *x)
		}
	}
	if isNil(v) {
		return dst, true, nil
	}
	var err error
	switch t.Kind {
	case Tinyint, Smallint, Int, Bigint, Counter:
		dst, err = appendFixedInt(dst, t, v)
	case Varint:
		dst, err = appendVarintValue(dst, t, v)
	case Float:
		dst, err = appendFloat(dst, t, v)
	case Double:
		dst, err = appendDouble(dst, t, v)
	case Boolean:
		b, ok, isnull := boolOf(v)
		if isnull {
			return dst, true, nil
		}
		if !ok {
			return dst, false, enc(v, t, nil)
		}
		if b {
			return append(dst, 1), false, nil
		}
		return append(dst, 0), false, nil
	case Ascii, Varchar:
		dst, err = appendText(dst, t, v)
	case Blob, Custom:
		dst, err = appendBlob(dst, t, v)
	case Decimal:
		dst, err = appendDecimal(dst, t, v)
	case Timestamp:
		dst, err = appendTimestamp(dst, t, v)
	case Date:
		dst, err = appendDate(dst, t, v)
	case Time:
		dst, err = appendTime(dst, t, v)
	case Duration:
		dst, err = appendDuration(dst, t, v)
	case Inet:
		dst, err = appendInet(dst, t, v)
	case UUID, Timeuuid:
		dst, err = appendUUID(dst, t, v)
	case List, Set:
		return appendCollection(dst, t, v, depth)
	case Map:
		return appendMap(dst, t, v, depth)
	case Tuple:
		return appendTuple(dst, t, v, depth)
	case UDT:
		return appendUDT(dst, t, v, depth)
	case Vector:
		return appendVector(dst, t, v, depth)
	default:
		return dst, false, enc(v, t, fmt.Errorf("unknown kind %v", t.Kind))
	}
	if err == errNullValue {
		return dst, true, nil
	}
	return dst, false, err
}

// errNullValue is an internal signal from scalar encoders: a pointer inside
// the value was nil.
var errNullValue = errors.New("null")

// intClass says what integer() found.
type intClass uint8

const (
	notInt intClass = iota
	signedInt
	unsignedInt // in u; it may exceed MaxInt64
	nullInt
)

// integer extracts a Go integer of any kind (named types and pointers
// included) without allocating.
func integer(v any) (i int64, u uint64, c intClass) {
	switch x := v.(type) {
	case int:
		return int64(x), 0, signedInt
	case int8:
		return int64(x), 0, signedInt
	case int16:
		return int64(x), 0, signedInt
	case int32:
		return int64(x), 0, signedInt
	case int64:
		return x, 0, signedInt
	case uint:
		return 0, uint64(x), unsignedInt
	case uint8:
		return 0, uint64(x), unsignedInt
	case uint16:
		return 0, uint64(x), unsignedInt
	case uint32:
		return 0, uint64(x), unsignedInt
	case uint64:
		return 0, x, unsignedInt
	case *int:
		if x != nil {
			return int64(*x), 0, signedInt
		}
	case *int32:
		if x != nil {
			return int64(*x), 0, signedInt
		}
	case *int64:
		if x != nil {
			return *x, 0, signedInt
		}
	case time.Duration, *time.Duration:
		// Its unit (ns) is not what an integer column would expect.
		return 0, 0, notInt
	}
	rv, ok := deref(reflect.ValueOf(v))
	if !ok {
		return 0, 0, nullInt
	}
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if rv.Type() == durationType {
			return 0, 0, notInt
		}
		return rv.Int(), 0, signedInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return 0, rv.Uint(), unsignedInt
	}
	return 0, 0, notInt
}

var (
	durationType   = reflect.TypeFor[time.Duration]()
	timeType       = reflect.TypeFor[time.Time]()
	bigIntType     = reflect.TypeFor[big.Int]()
	bigIntPtrType  = reflect.TypeFor[*big.Int]()
	uuidType       = reflect.TypeFor[UUIDValue]()
	decimalType    = reflect.TypeFor[DecimalValue]()
	cqlDurType     = reflect.TypeFor[DurationValue]()
	netipAddrType  = reflect.TypeFor[netip.Addr]()
	netIPType      = reflect.TypeFor[net.IP]()
	mapEntriesType = reflect.TypeFor[[]MapEntry]()
	anySliceType   = reflect.TypeFor[[]any]()
	anyMapType     = reflect.TypeFor[map[string]any]()
)

// bigOf extracts a *big.Int from big.Int values or pointers.
func bigOf(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case *big.Int:
		return x, x != nil
	case big.Int:
		return &x, true
	case **big.Int:
		if x != nil && *x != nil {
			return *x, true
		}
	}
	return nil, false
}

// intRange returns the bounds of a fixed-size integer kind.
func intRange(k Kind) (lo, hi int64, size int) {
	switch k {
	case Tinyint:
		return math.MinInt8, math.MaxInt8, 1
	case Smallint:
		return math.MinInt16, math.MaxInt16, 2
	case Int:
		return math.MinInt32, math.MaxInt32, 4
	}
	return math.MinInt64, math.MaxInt64, 8
}

func appendFixedInt(dst []byte, t *Type, v any) ([]byte, error) {
	lo, hi, size := intRange(t.Kind)
	i, u, c := integer(v)
	switch c {
	case nullInt:
		return dst, errNullValue
	case unsignedInt:
		if u > uint64(hi) {
			return dst, encValue(v, t, strconv.FormatUint(u, 10), ErrOutOfRange)
		}
		i = int64(u)
	case notInt:
		b, ok := bigOf(v)
		if !ok {
			return dst, enc(v, t, nil)
		}
		if !b.IsInt64() || b.Int64() < lo || b.Int64() > hi {
			return dst, encValue(v, t, shortText(b.String()), ErrOutOfRange)
		}
		i = b.Int64()
	}
	if i < lo || i > hi {
		return dst, encValue(v, t, strconv.FormatInt(i, 10), ErrOutOfRange)
	}
	switch size {
	case 1:
		return append(dst, byte(i)), nil
	case 2:
		return binary.BigEndian.AppendUint16(dst, uint16(i)), nil
	case 4:
		return binary.BigEndian.AppendUint32(dst, uint32(i)), nil
	}
	return binary.BigEndian.AppendUint64(dst, uint64(i)), nil
}

// shortText keeps error messages readable for huge values.
func shortText(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

func appendVarintValue(dst []byte, t *Type, v any) ([]byte, error) {
	i, u, c := integer(v)
	switch c {
	case nullInt:
		return dst, errNullValue
	case signedInt:
		return appendVarint64(dst, i), nil
	case unsignedInt:
		if u > math.MaxInt64 {
			dst = append(dst, 0) // sign byte: the top bit of u is set
			return binary.BigEndian.AppendUint64(dst, u), nil
		}
		return appendVarint64(dst, int64(u)), nil
	}
	b, ok := bigOf(v)
	if !ok {
		return dst, enc(v, t, nil)
	}
	return AppendVarint(dst, b), nil
}

// appendVarint64 appends the shortest two's complement form of i.
func appendVarint64(dst []byte, i int64) []byte {
	// Significant bits excluding the sign, plus one for the sign bit.
	n := (bits.Len64(uint64(i^(i>>63))) + 8) / 8
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(i))
	return append(dst, buf[8-n:]...)
}

// AppendVarint appends the varint encoding of x (shortest big-endian two's
// complement; zero is one 0x00 byte). A nil x is encoded as zero.
func AppendVarint(dst []byte, x *big.Int) []byte {
	if x == nil {
		return append(dst, 0)
	}
	if x.IsInt64() {
		return appendVarint64(dst, x.Int64())
	}
	if x.Sign() > 0 {
		n := x.BitLen()/8 + 1
		start := len(dst)
		dst = append(dst, make([]byte, n)...)
		x.FillBytes(dst[start:])
		return dst
	}
	// For negative x, ^x = -x-1 is non-negative; its bytes inverted are x's.
	y := new(big.Int).Not(x)
	n := y.BitLen()/8 + 1
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	y.FillBytes(dst[start:])
	for i := start; i < len(dst); i++ {
		dst[i] = ^dst[i]
	}
	return dst
}

// floatOf extracts a float; exact reports whether v was a float32 (or
// smaller) value, so that no rounding happens when narrowing to float.
func floatOf(v any) (f float64, ok, isnull bool) {
	switch x := v.(type) {
	case float64:
		return x, true, false
	case float32:
		return float64(x), true, false
	}
	rv, ok := deref(reflect.ValueOf(v))
	if !ok {
		return 0, false, true
	}
	switch rv.Kind() {
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true, false
	}
	return 0, false, false
}

// maxExactFloat is the largest integer magnitude float32 holds exactly.
const maxExactFloat32, maxExactFloat64 = 1 << 24, 1 << 53

func appendFloat(dst []byte, t *Type, v any) ([]byte, error) {
	if f, ok := v.(float32); ok {
		// Directly, so NaN payloads survive untouched.
		return binary.BigEndian.AppendUint32(dst, math.Float32bits(f)), nil
	}
	f, ok, isnull := floatOf(v)
	if isnull {
		return dst, errNullValue
	}
	if ok {
		f32 := float32(f)
		// Rounding to nearest is the natural narrowing; overflowing to
		// infinity is not.
		if math.IsInf(float64(f32), 0) && !math.IsInf(f, 0) {
			return dst, encValue(v, t, strconv.FormatFloat(f, 'g', -1, 64), ErrOutOfRange)
		}
		return binary.BigEndian.AppendUint32(dst, math.Float32bits(f32)), nil
	}
	i, u, c := integer(v)
	switch c {
	case nullInt:
		return dst, errNullValue
	case signedInt:
		if i < -maxExactFloat32 || i > maxExactFloat32 {
			return dst, encValue(v, t, strconv.FormatInt(i, 10), errors.New("not exactly representable"))
		}
		return binary.BigEndian.AppendUint32(dst, math.Float32bits(float32(i))), nil
	case unsignedInt:
		if u > maxExactFloat32 {
			return dst, encValue(v, t, strconv.FormatUint(u, 10), errors.New("not exactly representable"))
		}
		return binary.BigEndian.AppendUint32(dst, math.Float32bits(float32(u))), nil
	}
	return dst, enc(v, t, nil)
}

func appendDouble(dst []byte, t *Type, v any) ([]byte, error) {
	f, ok, isnull := floatOf(v)
	if isnull {
		return dst, errNullValue
	}
	if ok {
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(f)), nil
	}
	i, u, c := integer(v)
	switch c {
	case nullInt:
		return dst, errNullValue
	case signedInt:
		if i < -maxExactFloat64 || i > maxExactFloat64 {
			return dst, encValue(v, t, strconv.FormatInt(i, 10), errors.New("not exactly representable"))
		}
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(float64(i))), nil
	case unsignedInt:
		if u > maxExactFloat64 {
			return dst, encValue(v, t, strconv.FormatUint(u, 10), errors.New("not exactly representable"))
		}
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(float64(u))), nil
	}
	return dst, enc(v, t, nil)
}

func boolOf(v any) (b, ok, isnull bool) {
	if x, ok := v.(bool); ok {
		return x, true, false
	}
	rv, ok := deref(reflect.ValueOf(v))
	if !ok {
		return false, false, true
	}
	if rv.Kind() == reflect.Bool {
		return rv.Bool(), true, false
	}
	return false, false, false
}

// bytesOf extracts string or byte-slice content without copying where it
// can. isString tells which one it found.
func bytesOf(v any) (s string, b []byte, isString, ok, isnull bool) {
	switch x := v.(type) {
	case string:
		return x, nil, true, true, false
	case []byte:
		return "", x, false, true, false
	case *string:
		if x != nil {
			return *x, nil, true, true, false
		}
	case *[]byte:
		if x != nil {
			if *x == nil {
				return "", nil, false, false, true
			}
			return "", *x, false, true, false
		}
	case net.IP:
		return "", nil, false, false, false
	}
	rv, ok := deref(reflect.ValueOf(v))
	if !ok {
		return "", nil, false, false, true
	}
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), nil, true, true, false
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 && rv.Type() != netIPType {
			if rv.IsNil() {
				return "", nil, false, false, true
			}
			return "", rv.Bytes(), false, true, false
		}
	}
	return "", nil, false, false, false
}

func appendText(dst []byte, t *Type, v any) ([]byte, error) {
	s, b, isString, ok, isnull := bytesOf(v)
	if isnull {
		return dst, errNullValue
	}
	if !ok {
		return dst, enc(v, t, nil)
	}
	if t.Kind == Ascii {
		bad := -1
		if isString {
			bad = nonASCII(s)
		} else {
			bad = nonASCIIBytes(b)
		}
		if bad >= 0 {
			return dst, enc(v, t, fmt.Errorf("byte 0x%02x at offset %d is not ASCII", byteAt(s, b, isString, bad), bad))
		}
	} else {
		valid := false
		if isString {
			valid = utf8.ValidString(s)
		} else {
			valid = utf8.Valid(b)
		}
		if !valid {
			return dst, enc(v, t, errors.New("invalid UTF-8"))
		}
	}
	if len(s)+len(b) > math.MaxInt32 {
		return dst, enc(v, t, ErrOutOfRange)
	}
	if isString {
		return append(dst, s...), nil
	}
	return append(dst, b...), nil
}

// appendTextString is appendText for a plain string, used where boxing the
// string into an interface would cost an allocation.
func appendTextString(dst []byte, t *Type, s string) ([]byte, error) {
	switch t.Kind {
	case Ascii:
		if bad := nonASCII(s); bad >= 0 {
			return dst, enc(s, t, fmt.Errorf("byte 0x%02x at offset %d is not ASCII", s[bad], bad))
		}
	case Varchar:
		if !utf8.ValidString(s) {
			return dst, enc(s, t, errors.New("invalid UTF-8"))
		}
	}
	return append(dst, s...), nil
}

func byteAt(s string, b []byte, isString bool, i int) byte {
	if isString {
		return s[i]
	}
	return b[i]
}

func nonASCII(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return i
		}
	}
	return -1
}

func nonASCIIBytes(b []byte) int {
	for i, c := range b {
		if c >= 0x80 {
			return i
		}
	}
	return -1
}

func appendBlob(dst []byte, t *Type, v any) ([]byte, error) {
	s, b, isString, ok, isnull := bytesOf(v)
	if isnull {
		return dst, errNullValue
	}
	if !ok {
		// Byte arrays ([N]byte and named array types).
		rv, ok := deref(reflect.ValueOf(v))
		if ok && rv.Kind() == reflect.Array && rv.Type().Elem().Kind() == reflect.Uint8 {
			return appendByteArray(dst, rv), nil
		}
		return dst, enc(v, t, nil)
	}
	if isString {
		return append(dst, s...), nil
	}
	return append(dst, b...), nil
}

func appendByteArray(dst []byte, rv reflect.Value) []byte {
	if rv.CanAddr() {
		return append(dst, rv.Bytes()...)
	}
	for i := range rv.Len() {
		dst = append(dst, byte(rv.Index(i).Uint()))
	}
	return dst
}

func appendDecimal(dst []byte, t *Type, v any) ([]byte, error) {
	var d DecimalValue
	switch x := v.(type) {
	case DecimalValue:
		d = x
	case *DecimalValue:
		d = *x
	case float64, float32:
		f, _, _ := floatOf(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return dst, encValue(v, t, strconv.FormatFloat(f, 'g', -1, 64), errors.New("not a finite number"))
		}
		bitSize := 64
		if _, is32 := x.(float32); is32 {
			bitSize = 32
		}
		var err error
		if d, err = ParseDecimal(strconv.FormatFloat(f, 'g', -1, bitSize)); err != nil {
			return dst, enc(v, t, err)
		}
	default:
		if b, ok := bigOf(v); ok {
			d = DecimalValue{Unscaled: b}
			break
		}
		i, u, c := integer(v)
		switch c {
		case nullInt:
			return dst, errNullValue
		case signedInt:
			dst = binary.BigEndian.AppendUint32(dst, 0)
			return appendVarint64(dst, i), nil
		case unsignedInt:
			d = DecimalValue{Unscaled: new(big.Int).SetUint64(u)}
		default:
			rv, ok := deref(reflect.ValueOf(v))
			if ok && rv.Type() == decimalType {
				d = rv.Interface().(DecimalValue)
				break
			}
			return dst, enc(v, t, nil)
		}
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(d.Scale))
	return AppendVarint(dst, d.Unscaled), nil
}

// timeOf extracts a time.Time from values or pointers.
func timeOf(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case *time.Time:
		return *x, true // not nil: Append checked
	}
	rv, ok := deref(reflect.ValueOf(v))
	if ok && rv.Type() == timeType {
		return rv.Interface().(time.Time), true
	}
	return time.Time{}, false
}

// The range of times a timestamp holds (its sub-millisecond part is
// dropped).
var (
	minTimestamp = time.UnixMilli(math.MinInt64)
	maxTimestamp = time.UnixMilli(math.MaxInt64).Add(time.Millisecond - 1)
)

func appendTimestamp(dst []byte, t *Type, v any) ([]byte, error) {
	if tm, ok := timeOf(v); ok {
		if tm.Before(minTimestamp) || tm.After(maxTimestamp) {
			return dst, encValue(v, t, tm.String(), ErrOutOfRange)
		}
		return binary.BigEndian.AppendUint64(dst, uint64(tm.UnixMilli())), nil
	}
	i, u, c := integer(v)
	switch c {
	case nullInt:
		return dst, errNullValue
	case signedInt:
		return binary.BigEndian.AppendUint64(dst, uint64(i)), nil
	case unsignedInt:
		if u > math.MaxInt64 {
			return dst, encValue(v, t, strconv.FormatUint(u, 10), ErrOutOfRange)
		}
		return binary.BigEndian.AppendUint64(dst, u), nil
	}
	return dst, enc(v, t, nil)
}

// dateEpoch is the wire value of 1970-01-01: days are counted from 2^31.
const dateEpoch = 1 << 31

func appendDate(dst []byte, t *Type, v any) ([]byte, error) {
	tm, ok := timeOf(v)
	if !ok {
		return dst, enc(v, t, nil)
	}
	// The calendar date in tm's own location, so a local midnight stays on
	// its day.
	y, m, d := tm.Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
	if days < math.MinInt32 || days > math.MaxInt32 {
		return dst, encValue(v, t, tm.Format("2006-01-02"), ErrOutOfRange)
	}
	return binary.BigEndian.AppendUint32(dst, uint32(days+dateEpoch)), nil
}

// maxTimeOfDay is the last nanosecond of a day.
const maxTimeOfDay = 86399999999999

func appendTime(dst []byte, t *Type, v any) ([]byte, error) {
	var ns int64
	switch x := v.(type) {
	case time.Duration:
		ns = int64(x)
	case *time.Duration:
		ns = int64(*x)
	default:
		if tm, ok := timeOf(v); ok {
			h, m, s := tm.Clock()
			ns = int64(h)*int64(time.Hour) + int64(m)*int64(time.Minute) + int64(s)*int64(time.Second) + int64(tm.Nanosecond())
			break
		}
		i, u, c := integer(v)
		switch c {
		case nullInt:
			return dst, errNullValue
		case signedInt:
			ns = i
		case unsignedInt:
			if u > maxTimeOfDay {
				return dst, encValue(v, t, strconv.FormatUint(u, 10), ErrOutOfRange)
			}
			ns = int64(u)
		default:
			rv, ok := deref(reflect.ValueOf(v))
			if !ok || rv.Type() != durationType {
				return dst, enc(v, t, nil)
			}
			ns = rv.Int()
		}
	}
	if ns < 0 || ns > maxTimeOfDay {
		return dst, encValue(v, t, time.Duration(ns).String(), ErrOutOfRange)
	}
	return binary.BigEndian.AppendUint64(dst, uint64(ns)), nil
}

func appendDuration(dst []byte, t *Type, v any) ([]byte, error) {
	var d DurationValue
	switch x := v.(type) {
	case DurationValue:
		d = x
	case *DurationValue:
		d = *x
	case time.Duration:
		d.Nanoseconds = int64(x)
	case *time.Duration:
		d.Nanoseconds = int64(*x)
	default:
		rv, ok := deref(reflect.ValueOf(v))
		switch {
		case ok && rv.Type() == cqlDurType:
			d = rv.Interface().(DurationValue)
		case ok && rv.Type() == durationType:
			d.Nanoseconds = rv.Int()
		default:
			return dst, enc(v, t, nil)
		}
	}
	if !d.valid() {
		return dst, encValue(v, t, fmt.Sprintf("%+v", d), errors.New("months, days and nanoseconds must not have different signs"))
	}
	dst = AppendVint(dst, int64(d.Months))
	dst = AppendVint(dst, int64(d.Days))
	return AppendVint(dst, d.Nanoseconds), nil
}

func appendInet(dst []byte, t *Type, v any) ([]byte, error) {
	var a netip.Addr
	switch x := v.(type) {
	case netip.Addr:
		a = x
	case *netip.Addr:
		a = *x
	case net.IP:
		return appendNetIP(dst, t, v, x)
	case *net.IP:
		return appendNetIP(dst, t, v, *x)
	case string:
		var err error
		if a, err = netip.ParseAddr(x); err != nil {
			return dst, enc(v, t, err)
		}
	default:
		s, b, isString, ok, _ := bytesOf(v)
		switch {
		case ok && isString:
			return appendInet(dst, t, s)
		case ok:
			return appendNetIP(dst, t, v, b)
		}
		rv, ok := deref(reflect.ValueOf(v))
		switch {
		case ok && rv.Type() == netipAddrType:
			a = rv.Interface().(netip.Addr)
		case ok && rv.Type() == netIPType:
			return appendNetIP(dst, t, v, rv.Bytes())
		default:
			return dst, enc(v, t, nil)
		}
	}
	if !a.IsValid() {
		return dst, enc(v, t, errors.New("invalid address"))
	}
	if a.Zone() != "" {
		return dst, encValue(v, t, a.String(), errors.New("an IPv6 zone cannot be stored"))
	}
	if a.Is4() {
		b := a.As4()
		return append(dst, b[:]...), nil
	}
	b := a.As16()
	return append(dst, b[:]...), nil
}

// appendNetIP writes IPv4 addresses (including the 16-byte IPv4-mapped form
// net.ParseIP returns) in 4 bytes, as other drivers do.
func appendNetIP(dst []byte, t *Type, v any, ip net.IP) ([]byte, error) {
	if ip4 := ip.To4(); ip4 != nil {
		return append(dst, ip4...), nil
	}
	if len(ip) == net.IPv6len {
		return append(dst, ip...), nil
	}
	return dst, enc(v, t, fmt.Errorf("address of %d bytes", len(ip)))
}

func appendUUID(dst []byte, t *Type, v any) ([]byte, error) {
	var u UUIDValue
	switch x := v.(type) {
	case UUIDValue:
		u = x
	case *UUIDValue:
		u = *x
	case [16]byte:
		u = x
	case string:
		var err error
		if u, err = ParseUUID(x); err != nil {
			return dst, enc(v, t, err)
		}
	case []byte:
		if len(x) != 16 {
			return dst, enc(v, t, fmt.Errorf("need 16 bytes, got %d", len(x)))
		}
		u = UUIDValue(x)
	default:
		rv, ok := deref(reflect.ValueOf(v))
		switch {
		case ok && rv.Kind() == reflect.Array && rv.Len() == 16 && rv.Type().Elem().Kind() == reflect.Uint8:
			for i := range u {
				u[i] = byte(rv.Index(i).Uint())
			}
		case ok && rv.Kind() == reflect.String:
			return appendUUID(dst, t, rv.String())
		case ok && rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8:
			return appendUUID(dst, t, rv.Bytes())
		default:
			return dst, enc(v, t, nil)
		}
	}
	if t.Kind == Timeuuid && u.Version() != 1 {
		return dst, encValue(v, t, u.String(), fmt.Errorf("version %d UUID, timeuuid needs version 1", u.Version()))
	}
	return append(dst, u[:]...), nil
}

// beginLen reserves a 4-byte length; endLen fills it in.
func beginLen(dst []byte) ([]byte, int) {
	return append(dst, 0, 0, 0, 0), len(dst)
}

func endLen(dst []byte, at int, null bool) ([]byte, bool) {
	if null {
		binary.BigEndian.PutUint32(dst[at:], math.MaxUint32) // -1
		return dst, true
	}
	n := len(dst) - at - 4
	if n > math.MaxInt32 {
		return dst, false
	}
	binary.BigEndian.PutUint32(dst[at:], uint32(n))
	return dst, true
}

var errTooLong = errors.New("encoded value longer than 2^31-1 bytes")

// appendElement appends one [bytes] element of a collection, tuple or UDT.
// Collections reject null elements (the server does); tuples and UDTs allow
// them.
func appendElement(dst []byte, t *Type, v any, depth int, nullOK bool, step string) ([]byte, error) {
	dst, at := beginLen(dst)
	dst, null, err := appendValue(dst, t, v, depth+1)
	if err == ErrUnset {
		return dst, &CodecError{Op: "encode", GoType: "types.UnsetValue", CQLType: t.String(), Path: step, Err: errors.New("unset is only allowed as a whole bound value")}
	}
	if err != nil {
		return dst, atPath(err, step)
	}
	if null && !nullOK {
		return dst, &CodecError{Op: "encode", GoType: goTypeName(v), CQLType: t.String(), Path: step, Err: ErrNullElement}
	}
	dst, ok := endLen(dst, at, null)
	if !ok {
		return dst, &CodecError{Op: "encode", GoType: goTypeName(v), CQLType: t.String(), Path: step, Err: errTooLong}
	}
	return dst, nil
}

func appendCount(dst []byte, t *Type, v any, n int) ([]byte, error) {
	if n > math.MaxInt32 {
		return dst, enc(v, t, fmt.Errorf("%d elements exceed 2^31-1", n))
	}
	return binary.BigEndian.AppendUint32(dst, uint32(n)), nil
}

func missingChild(v any, t *Type) error {
	return enc(v, t, errors.New("incomplete type descriptor"))
}

func appendCollection(dst []byte, t *Type, v any, depth int) ([]byte, bool, error) {
	if t.Elem == nil {
		return dst, false, missingChild(v, t)
	}
	var err error
	switch x := v.(type) {
	case []string:
		if dst, err = appendCount(dst, t, v, len(x)); err != nil {
			return dst, false, err
		}
		if k := t.Elem.Kind; k == Varchar || k == Ascii || k == Blob {
			// Without boxing each string into an interface.
			for i, e := range x {
				var at int
				dst, at = beginLen(dst)
				if dst, err = appendTextString(dst, t.Elem, e); err != nil {
					return dst, false, atPath(err, indexStep(i))
				}
				if dst, _ = endLen(dst, at, false); len(e) > math.MaxInt32 {
					return dst, false, &CodecError{Op: "encode", GoType: "string", CQLType: t.Elem.String(), Path: indexStep(i), Err: errTooLong}
				}
			}
			return dst, false, nil
		}
		for i, e := range x {
			if dst, err = appendElement(dst, t.Elem, e, depth, false, indexStep(i)); err != nil {
				return dst, false, err
			}
		}
		return dst, false, nil
	case []int32:
		if t.Elem.Kind == Int {
			if dst, err = appendCount(dst, t, v, len(x)); err != nil {
				return dst, false, err
			}
			for _, e := range x {
				dst = binary.BigEndian.AppendUint32(dst, 4)
				dst = binary.BigEndian.AppendUint32(dst, uint32(e))
			}
			return dst, false, nil
		}
	case []int64:
		if t.Elem.Kind == Bigint || t.Elem.Kind == Counter {
			if dst, err = appendCount(dst, t, v, len(x)); err != nil {
				return dst, false, err
			}
			for _, e := range x {
				dst = binary.BigEndian.AppendUint32(dst, 8)
				dst = binary.BigEndian.AppendUint64(dst, uint64(e))
			}
			return dst, false, nil
		}
	case []any:
		if dst, err = appendCount(dst, t, v, len(x)); err != nil {
			return dst, false, err
		}
		for i, e := range x {
			if dst, err = appendElement(dst, t.Elem, e, depth, false, indexStep(i)); err != nil {
				return dst, false, err
			}
		}
		return dst, false, nil
	}
	rv, ok := deref(reflect.ValueOf(v))
	if !ok {
		return dst, true, nil
	}
	switch rv.Kind() {
	case reflect.Slice:
		if rv.IsNil() {
			return dst, true, nil
		}
		fallthrough
	case reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 && t.Elem.Kind != Tinyint && t.Elem.Kind != Smallint &&
			t.Elem.Kind != Int && t.Elem.Kind != Bigint && t.Elem.Kind != Varint && t.Elem.Kind != Counter {
			// A []byte for list<blob> is a mistake, not a list of bytes.
			return dst, false, enc(v, t, nil)
		}
		n := rv.Len()
		if dst, err = appendCount(dst, t, v, n); err != nil {
			return dst, false, err
		}
		for i := range n {
			if dst, err = appendElement(dst, t.Elem, rv.Index(i).Interface(), depth, false, indexStep(i)); err != nil {
				return dst, false, err
			}
		}
		return dst, false, nil
	case reflect.Map:
		if t.Kind != Set {
			break
		}
		// A Go set: map[T]struct{} or map[T]bool (true members only).
		ev := rv.Type().Elem()
		isBool := ev.Kind() == reflect.Bool
		if !isBool && !(ev.Kind() == reflect.Struct && ev.NumField() == 0) {
			break
		}
		n := 0
		if isBool {
			for it := rv.MapRange(); it.Next(); {
				if it.Value().Bool() {
					n++
				}
			}
		} else {
			n = rv.Len()
		}
		if dst, err = appendCount(dst, t, v, n); err != nil {
			return dst, false, err
		}
		i := 0
		for it := rv.MapRange(); it.Next(); {
			if isBool && !it.Value().Bool() {
				continue
			}
			if dst, err = appendElement(dst, t.Elem, it.Key().Interface(), depth, false, indexStep(i)); err != nil {
				return dst, false, err
			}
			i++
		}
		return dst, false, nil
	}
	return dst, false, enc(v, t, nil)
}

func indexStep(i int) string { return "[" + strconv.Itoa(i) + "]" }

func keyStep(k any) string {
	s := fmt.Sprint(k)
	return "[" + shortText(s) + "]"
}

func appendMap(dst []byte, t *Type, v any, depth int) ([]byte, bool, error) {
	if t.Key == nil || t.Elem == nil {
		return dst, false, missingChild(v, t)
	}
	var err error
	if entries, ok := v.([]MapEntry); ok {
		if dst, err = appendCount(dst, t, v, len(entries)); err != nil {
			return dst, false, err
		}
		for i, e := range entries {
			if dst, err = appendElement(dst, t.Key, e.Key, depth, false, indexStep(i)+".key"); err != nil {
				return dst, false, err
			}
			if dst, err = appendElement(dst, t.Elem, e.Value, depth, false, indexStep(i)+".value"); err != nil {
				return dst, false, err
			}
		}
		return dst, false, nil
	}
	rv, ok := deref(reflect.ValueOf(v))
	if !ok {
		return dst, true, nil
	}
	if rv.Kind() != reflect.Map {
		return dst, false, enc(v, t, nil)
	}
	if rv.IsNil() {
		return dst, true, nil
	}
	if dst, err = appendCount(dst, t, v, rv.Len()); err != nil {
		return dst, false, err
	}
	for it := rv.MapRange(); it.Next(); {
		k := it.Key().Interface()
		if dst, err = appendElement(dst, t.Key, k, depth, false, keyStep(k)+".key"); err != nil {
			return dst, false, err
		}
		if dst, err = appendElement(dst, t.Elem, it.Value().Interface(), depth, false, keyStep(k)); err != nil {
			return dst, false, err
		}
	}
	return dst, false, nil
}

func appendTuple(dst []byte, t *Type, v any, depth int) ([]byte, bool, error) {
	var err error
	if list, ok := v.([]any); ok {
		if len(list) != len(t.Elems) {
			return dst, false, enc(v, t, fmt.Errorf("needs %d components, got %d", len(t.Elems), len(list)))
		}
		for i, e := range list {
			if dst, err = appendElement(dst, t.Elems[i], e, depth, true, indexStep(i)); err != nil {
				return dst, false, err
			}
		}
		return dst, false, nil
	}
	rv, ok := deref(reflect.ValueOf(v))
	if !ok {
		return dst, true, nil
	}
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Len() != len(t.Elems) {
			return dst, false, enc(v, t, fmt.Errorf("needs %d components, got %d", len(t.Elems), rv.Len()))
		}
		for i := range t.Elems {
			if dst, err = appendElement(dst, t.Elems[i], rv.Index(i).Interface(), depth, true, indexStep(i)); err != nil {
				return dst, false, err
			}
		}
		return dst, false, nil
	case reflect.Struct:
		if isOpaqueStruct(rv.Type()) {
			break
		}
		fields := tupleFields(rv.Type())
		if len(fields) != len(t.Elems) {
			return dst, false, enc(v, t, fmt.Errorf("needs %d components, struct has %d fields", len(t.Elems), len(fields)))
		}
		for i, f := range fields {
			if dst, err = appendElement(dst, t.Elems[i], rv.Field(f).Interface(), depth, true, "."+rv.Type().Field(f).Name); err != nil {
				return dst, false, err
			}
		}
		return dst, false, nil
	}
	return dst, false, enc(v, t, nil)
}

// isOpaqueStruct reports struct types that are values of their own, never
// tuples or UDTs.
func isOpaqueStruct(rt reflect.Type) bool {
	switch rt {
	case timeType, bigIntType, decimalType, cqlDurType, netipAddrType:
		return true
	}
	return false
}

// tupleFields lists the exported fields of a struct used as a tuple, in
// order, skipping those tagged cql:"-".
func tupleFields(rt reflect.Type) []int {
	var out []int
	for i := range rt.NumField() {
		f := rt.Field(i)
		if !f.IsExported() || f.Tag.Get("cql") == "-" {
			continue
		}
		out = append(out, i)
	}
	return out
}

// udtFieldName is the UDT field a struct field maps to: its cql tag, or its
// name (matched without regard to case).
func udtFieldName(f reflect.StructField) (name string, tagged bool) {
	tag := f.Tag.Get("cql")
	if i := strings.IndexByte(tag, ','); i >= 0 {
		tag = tag[:i]
	}
	if tag != "" {
		return tag, true
	}
	return f.Name, false
}

// structFieldFor finds the struct field for a UDT field, or -1.
func structFieldFor(rt reflect.Type, name string) int {
	fallback := -1
	for i := range rt.NumField() {
		f := rt.Field(i)
		if !f.IsExported() || f.Tag.Get("cql") == "-" {
			continue
		}
		fname, tagged := udtFieldName(f)
		if tagged && fname == name {
			return i
		}
		if !tagged && fallback < 0 && strings.EqualFold(fname, name) {
			fallback = i
		}
	}
	return fallback
}

func appendUDT(dst []byte, t *Type, v any, depth int) ([]byte, bool, error) {
	var err error
	if m, ok := v.(map[string]any); ok {
		for k := range m {
			if udtField(t, k) < 0 {
				return dst, false, enc(v, t, fmt.Errorf("no field %q in the type", k))
			}
		}
		for _, f := range t.Fields {
			if dst, err = appendElement(dst, f.Type, m[f.Name], depth, true, "."+f.Name); err != nil {
				return dst, false, err
			}
		}
		return dst, false, nil
	}
	rv, ok := deref(reflect.ValueOf(v))
	if !ok {
		return dst, true, nil
	}
	switch rv.Kind() {
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		if rv.IsNil() {
			return dst, true, nil
		}
		for it := rv.MapRange(); it.Next(); {
			if k := it.Key().String(); udtField(t, k) < 0 {
				return dst, false, enc(v, t, fmt.Errorf("no field %q in the type", k))
			}
		}
		for _, f := range t.Fields {
			var fv any
			if e := rv.MapIndex(reflect.ValueOf(f.Name).Convert(rv.Type().Key())); e.IsValid() {
				fv = e.Interface()
			}
			if dst, err = appendElement(dst, f.Type, fv, depth, true, "."+f.Name); err != nil {
				return dst, false, err
			}
		}
		return dst, false, nil
	case reflect.Struct:
		if isOpaqueStruct(rv.Type()) {
			break
		}
		rt := rv.Type()
		used := 0
		for _, f := range t.Fields {
			var fv any
			if i := structFieldFor(rt, f.Name); i >= 0 {
				fv = rv.Field(i).Interface()
				used++
			}
			if dst, err = appendElement(dst, f.Type, fv, depth, true, "."+f.Name); err != nil {
				return dst, false, err
			}
		}
		if used != len(tupleFields(rt)) {
			// Every exported field must land somewhere, so a typo in a
			// tag is not silently dropped.
			for _, i := range tupleFields(rt) {
				name, _ := udtFieldName(rt.Field(i))
				if udtFieldFold(t, name) < 0 {
					return dst, false, enc(v, t, fmt.Errorf("struct field %s matches no field of the type (tag it cql:\"-\" to skip it)", rt.Field(i).Name))
				}
			}
		}
		return dst, false, nil
	}
	return dst, false, enc(v, t, nil)
}

func udtField(t *Type, name string) int {
	for i, f := range t.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

func udtFieldFold(t *Type, name string) int {
	for i, f := range t.Fields {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

func appendFloatVector(dst []byte, t *Type, v any, x []float32) ([]byte, bool, error) {
	if x == nil {
		return dst, true, nil
	}
	if len(x) != t.Dimension {
		return dst, false, vectorLenErr(v, t, len(x))
	}
	return AppendFloat32Vector(dst, x), false, nil
}

func vectorLenErr(v any, t *Type, n int) error {
	return enc(v, t, fmt.Errorf("needs %d elements, got %d", t.Dimension, n))
}

// vectorElemSize is the fixed size of a vector element, or 0 for elements
// written with an unsigned vint length. It follows the server: only types
// whose marshal class declares a fixed length count (smallint, tinyint,
// date, time and counter do not, in Cassandra 5.0).
func vectorElemSize(t *Type) int {
	switch t.Kind {
	case Boolean:
		return 1
	case Int, Float:
		return 4
	case Bigint, Double, Timestamp:
		return 8
	case UUID, Timeuuid:
		return 16
	case Vector:
		if t.Elem != nil && t.Dimension > 0 {
			if s := vectorElemSize(t.Elem); s > 0 && s <= math.MaxInt32/t.Dimension {
				return s * t.Dimension
			}
		}
	}
	return 0
}

func appendVector(dst []byte, t *Type, v any, depth int) ([]byte, bool, error) {
	if t.Elem == nil || t.Dimension <= 0 {
		return dst, false, missingChild(v, t)
	}
	rv, ok := deref(reflect.ValueOf(v))
	if !ok {
		return dst, true, nil
	}
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return dst, false, enc(v, t, nil)
	}
	if rv.Kind() == reflect.Slice && rv.IsNil() {
		return dst, true, nil
	}
	if rv.Len() != t.Dimension {
		return dst, false, vectorLenErr(v, t, rv.Len())
	}
	size := vectorElemSize(t.Elem)
	var err error
	for i := range t.Dimension {
		ev := rv.Index(i).Interface()
		start := len(dst)
		var null bool
		if size > 0 {
			dst, null, err = appendValue(dst, t.Elem, ev, depth+1)
		} else {
			// Encode after a maximal vint placeholder, then move the value
			// down next to its real length.
			dst = append(dst, make([]byte, 9)...)
			dst, null, err = appendValue(dst, t.Elem, ev, depth+1)
			if err == nil && !null {
				n := len(dst) - start - 9
				var lb [9]byte
				l := AppendUvint(lb[:0], uint64(n))
				copy(dst[start:], l)
				copy(dst[start+len(l):], dst[start+9:])
				dst = dst[:start+len(l)+n]
			}
		}
		if err == ErrUnset {
			return dst, false, &CodecError{Op: "encode", GoType: "types.UnsetValue", CQLType: t.Elem.String(), Path: indexStep(i), Err: errors.New("unset is only allowed as a whole bound value")}
		}
		if err != nil {
			return dst, false, atPath(err, indexStep(i))
		}
		if null {
			return dst, false, &CodecError{Op: "encode", GoType: goTypeName(ev), CQLType: t.Elem.String(), Path: indexStep(i), Err: ErrNullElement}
		}
		if size > 0 && len(dst)-start != size {
			return dst, false, &CodecError{Op: "encode", GoType: goTypeName(ev), CQLType: t.Elem.String(), Path: indexStep(i), Err: fmt.Errorf("vector element must be %d bytes, got %d", size, len(dst)-start)}
		}
	}
	return dst, false, nil
}
