package types

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/netip"
	"reflect"
	"time"
	"unicode/utf8"
)

// Decode decodes data, the bytes of one value of type t, into the value dst
// points to. data == nil means null: the destination is set to its zero
// value (nil for pointers, slices, maps and interfaces). A zero-length value
// is also null for every type except ascii, text, blob and custom, where it
// is the empty string or slice.
//
// dst must be a non-nil pointer. *any receives the natural Go type listed in
// the package documentation. Decode never keeps a reference to data: strings
// and slices are copied. Errors are *[CodecError].
func Decode(t *Type, data []byte, dst any) error {
	if t == nil {
		return &CodecError{Op: "decode", GoType: goTypeName(dst), CQLType: "<nil type>", Err: errNilType}
	}
	switch d := dst.(type) {
	case *any:
		if d != nil {
			v, err := decodeNatural(t, data, 0)
			if err != nil {
				return err
			}
			*d = v
			return nil
		}
	case *int32:
		if d != nil && t.Kind == Int && len(data) == 4 {
			*d = int32(binary.BigEndian.Uint32(data))
			return nil
		}
	case *int64:
		if d != nil && (t.Kind == Bigint || t.Kind == Counter) && len(data) == 8 {
			*d = int64(binary.BigEndian.Uint64(data))
			return nil
		}
	case *string:
		if d != nil && data != nil && (t.Kind == Varchar || t.Kind == Ascii) {
			if err := checkText(t, data, "string"); err != nil {
				return err
			}
			*d = string(data)
			return nil
		}
	case *[]float32:
		if d != nil && t.Kind == Vector && t.Elem != nil && t.Elem.Kind == Float && len(data) > 0 {
			if int64(len(data)) != 4*int64(t.Dimension) {
				return decErr(t, "[]float32", fmt.Errorf("needs %d bytes for %d floats, got %d", 4*int64(t.Dimension), t.Dimension, len(data)))
			}
			v, err := DecodeFloat32Vector(*d, data)
			*d = v
			return err
		}
	}
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &CodecError{Op: "decode", GoType: goTypeName(dst), CQLType: t.String(), Err: errors.New("destination must be a non-nil pointer")}
	}
	return decodeReflect(t, data, rv.Elem(), 0)
}

func decErr(t *Type, goType string, err error) *CodecError {
	return &CodecError{Op: "decode", GoType: goType, CQLType: t.String(), Err: err}
}

func decErrV(t *Type, v reflect.Value, err error) *CodecError {
	return decErr(t, v.Type().String(), err)
}

// isNullData applies the rule that an empty value of a non-string type is
// null.
func isNullData(t *Type, data []byte) bool {
	if data == nil {
		return true
	}
	if len(data) > 0 {
		return false
	}
	switch t.Kind {
	case Ascii, Varchar, Blob, Custom:
		return false
	}
	return true
}

func sizeErr(want, got int) error {
	return fmt.Errorf("needs %d bytes, got %d", want, got)
}

func checkText(t *Type, data []byte, goType string) error {
	if t.Kind == Ascii {
		if i := nonASCIIBytes(data); i >= 0 {
			return decErr(t, goType, fmt.Errorf("byte 0x%02x at offset %d is not ASCII", data[i], i))
		}
		return nil
	}
	if !utf8.Valid(data) {
		return decErr(t, goType, errors.New("invalid UTF-8"))
	}
	return nil
}

// wireInt decodes the integer kinds: the value fits int64 unless b != nil
// (a varint too large for it).
func wireInt(t *Type, data []byte) (i int64, b *big.Int, err error) {
	switch t.Kind {
	case Tinyint:
		if len(data) != 1 {
			return 0, nil, sizeErr(1, len(data))
		}
		return int64(int8(data[0])), nil, nil
	case Smallint:
		if len(data) != 2 {
			return 0, nil, sizeErr(2, len(data))
		}
		return int64(int16(binary.BigEndian.Uint16(data))), nil, nil
	case Int:
		if len(data) != 4 {
			return 0, nil, sizeErr(4, len(data))
		}
		return int64(int32(binary.BigEndian.Uint32(data))), nil, nil
	case Bigint, Counter:
		if len(data) != 8 {
			return 0, nil, sizeErr(8, len(data))
		}
		return int64(binary.BigEndian.Uint64(data)), nil, nil
	}
	// Varint.
	if len(data) <= 8 {
		return varint64(data), nil, nil
	}
	b = DecodeVarint(data)
	if b.IsInt64() {
		return b.Int64(), nil, nil
	}
	return 0, b, nil
}

// varint64 sign-extends up to 8 big-endian bytes.
func varint64(data []byte) int64 {
	var v int64
	if len(data) > 0 && data[0]&0x80 != 0 {
		v = -1
	}
	for _, c := range data {
		v = v<<8 | int64(c)
	}
	return v
}

// DecodeVarint decodes varint bytes (big-endian two's complement, any
// length; empty is zero).
func DecodeVarint(data []byte) *big.Int {
	z := new(big.Int).SetBytes(data)
	if len(data) > 0 && data[0]&0x80 != 0 {
		// Negative: the bytes read as unsigned are z + 2^(8n).
		z.Sub(z, new(big.Int).Lsh(big.NewInt(1), uint(8*len(data))))
	}
	return z
}

func decodeTimestamp(data []byte) (time.Time, error) {
	if len(data) != 8 {
		return time.Time{}, sizeErr(8, len(data))
	}
	return time.UnixMilli(int64(binary.BigEndian.Uint64(data))).UTC(), nil
}

func decodeDate(data []byte) (time.Time, error) {
	if len(data) != 4 {
		return time.Time{}, sizeErr(4, len(data))
	}
	days := int64(binary.BigEndian.Uint32(data)) - dateEpoch
	return time.Unix(days*86400, 0).UTC(), nil
}

func decodeTime(data []byte) (time.Duration, error) {
	if len(data) != 8 {
		return 0, sizeErr(8, len(data))
	}
	ns := int64(binary.BigEndian.Uint64(data))
	if ns < 0 || ns > maxTimeOfDay {
		return 0, fmt.Errorf("%w: %d nanoseconds is not a time of day", ErrOutOfRange, ns)
	}
	return time.Duration(ns), nil
}

func decodeDuration(data []byte) (DurationValue, error) {
	var vals [3]int64
	off := 0
	for i := range vals {
		v, n, err := ReadVint(data[off:])
		if err != nil {
			return DurationValue{}, err
		}
		vals[i] = v
		off += n
	}
	if off != len(data) {
		return DurationValue{}, fmt.Errorf("%d bytes after the duration", len(data)-off)
	}
	if vals[0] < math.MinInt32 || vals[0] > math.MaxInt32 || vals[1] < math.MinInt32 || vals[1] > math.MaxInt32 {
		return DurationValue{}, fmt.Errorf("%w: months %d or days %d exceed 32 bits", errVintRange, vals[0], vals[1])
	}
	d := DurationValue{Months: int32(vals[0]), Days: int32(vals[1]), Nanoseconds: vals[2]}
	if !d.valid() {
		return DurationValue{}, errors.New("months, days and nanoseconds have different signs")
	}
	return d, nil
}

func decodeDecimal(data []byte) (DecimalValue, error) {
	if len(data) < 5 {
		return DecimalValue{}, fmt.Errorf("%w: needs at least 5 bytes, got %d", ErrTruncated, len(data))
	}
	return DecimalValue{
		Scale:    int32(binary.BigEndian.Uint32(data)),
		Unscaled: DecodeVarint(data[4:]),
	}, nil
}

func decodeInet(data []byte) (netip.Addr, error) {
	switch len(data) {
	case 4:
		return netip.AddrFrom4([4]byte(data)), nil
	case 16:
		return netip.AddrFrom16([16]byte(data)), nil
	}
	return netip.Addr{}, fmt.Errorf("address of %d bytes, want 4 or 16", len(data))
}

func decodeUUID(t *Type, data []byte) (UUIDValue, error) {
	if len(data) != 16 {
		return UUIDValue{}, sizeErr(16, len(data))
	}
	u := UUIDValue(data)
	if t.Kind == Timeuuid && u.Version() != 1 {
		return UUIDValue{}, fmt.Errorf("version %d UUID, timeuuid needs version 1", u.Version())
	}
	return u, nil
}

// decodeNatural decodes into the natural Go type of t (see doc.go).
func decodeNatural(t *Type, data []byte, depth int) (any, error) {
	if isNullData(t, data) {
		return nil, nil
	}
	if depth >= MaxDepth {
		return nil, decErr(t, "interface {}", ErrTooDeep)
	}
	var (
		v   any
		err error
	)
	switch t.Kind {
	case Ascii, Varchar:
		if err := checkText(t, data, "string"); err != nil {
			return nil, err
		}
		return string(data), nil
	case Blob, Custom:
		return append(make([]byte, 0, len(data)), data...), nil
	case Tinyint, Smallint, Int, Bigint, Counter, Varint:
		i, b, e := wireInt(t, data)
		switch {
		case e != nil:
			err = e
		case t.Kind == Varint && b != nil:
			v = b
		case t.Kind == Varint:
			v = big.NewInt(i)
		case t.Kind == Tinyint:
			v = int8(i)
		case t.Kind == Smallint:
			v = int16(i)
		case t.Kind == Int:
			v = int32(i)
		default:
			v = i
		}
	case Boolean:
		if len(data) != 1 {
			err = sizeErr(1, len(data))
		} else {
			v = data[0] != 0
		}
	case Float:
		if len(data) != 4 {
			err = sizeErr(4, len(data))
		} else {
			v = math.Float32frombits(binary.BigEndian.Uint32(data))
		}
	case Double:
		if len(data) != 8 {
			err = sizeErr(8, len(data))
		} else {
			v = math.Float64frombits(binary.BigEndian.Uint64(data))
		}
	case Decimal:
		v, err = decodeDecimal(data)
	case Timestamp:
		v, err = decodeTimestamp(data)
	case Date:
		v, err = decodeDate(data)
	case Time:
		v, err = decodeTime(data)
	case Duration:
		v, err = decodeDuration(data)
	case Inet:
		v, err = decodeInet(data)
	case UUID, Timeuuid:
		v, err = decodeUUID(t, data)
	case Vector:
		if t.Elem != nil && t.Elem.Kind == Float {
			if int64(len(data)) != 4*int64(t.Dimension) {
				return nil, decErr(t, "[]float32", fmt.Errorf("needs %d bytes for %d floats, got %d", 4*int64(t.Dimension), t.Dimension, len(data)))
			}
			return DecodeFloat32Vector(nil, data)
		}
		fallthrough
	default:
		nt, err := naturalType(t, depth)
		if err != nil {
			return nil, err
		}
		nv := reflect.New(nt).Elem()
		if err := decodeReflect(t, data, nv, depth); err != nil {
			return nil, err
		}
		return nv.Interface(), nil
	}
	if err != nil {
		nt, _ := naturalType(t, depth)
		name := "interface {}"
		if nt != nil {
			name = nt.String()
		}
		return nil, decErr(t, name, err)
	}
	return v, nil
}

var (
	naturalScalars = map[Kind]reflect.Type{
		Ascii: reflect.TypeFor[string](), Varchar: reflect.TypeFor[string](),
		Bigint: reflect.TypeFor[int64](), Counter: reflect.TypeFor[int64](),
		Blob: reflect.TypeFor[[]byte](), Custom: reflect.TypeFor[[]byte](),
		Boolean: reflect.TypeFor[bool](), Date: timeType, Timestamp: timeType,
		Decimal: decimalType, Double: reflect.TypeFor[float64](), Duration: cqlDurType,
		Float: reflect.TypeFor[float32](), Inet: netipAddrType, Int: reflect.TypeFor[int32](),
		Smallint: reflect.TypeFor[int16](), Tinyint: reflect.TypeFor[int8](), Time: durationType,
		UUID: uuidType, Timeuuid: uuidType, Varint: bigIntPtrType,
	}
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
)

// NaturalType returns the Go type that decoding a value of t into *any
// produces.
func NaturalType(t *Type) (reflect.Type, error) { return naturalType(t, 0) }

func naturalType(t *Type, depth int) (reflect.Type, error) {
	if t == nil {
		return nil, &CodecError{Op: "decode", GoType: "interface {}", CQLType: "<nil type>", Err: errNilType}
	}
	if depth >= MaxDepth {
		return nil, decErr(t, "interface {}", ErrTooDeep)
	}
	if rt, ok := naturalScalars[t.Kind]; ok {
		return rt, nil
	}
	switch t.Kind {
	case List, Set, Vector:
		et, err := naturalType(t.Elem, depth+1)
		if err != nil {
			return nil, err
		}
		return reflect.SliceOf(et), nil
	case Map:
		kt, err := naturalType(t.Key, depth+1)
		if err != nil {
			return nil, err
		}
		vt, err := naturalType(t.Elem, depth+1)
		if err != nil {
			return nil, err
		}
		if naturalKeyOK(t.Key) {
			return reflect.MapOf(kt, vt), nil
		}
		return mapEntriesType, nil
	case Tuple:
		return anySliceType, nil
	case UDT:
		return anyMapType, nil
	}
	return nil, decErr(t, "interface {}", fmt.Errorf("unknown kind %v", t.Kind))
}

// naturalKeyOK reports whether the natural Go type of t works as a Go map
// key: comparable, and compared by value (not *big.Int or slices).
func naturalKeyOK(t *Type) bool {
	switch t.Kind {
	case Ascii, Varchar, Bigint, Counter, Boolean, Date, Timestamp, Double, Duration, Float,
		Inet, Int, Smallint, Tinyint, Time, UUID, Timeuuid:
		return true
	}
	return false
}

// decodeReflect decodes into v, which must be settable.
func decodeReflect(t *Type, data []byte, v reflect.Value, depth int) error {
	if t == nil {
		return &CodecError{Op: "decode", GoType: v.Type().String(), CQLType: "<nil type>", Err: errNilType}
	}
	if depth >= MaxDepth {
		return decErrV(t, v, ErrTooDeep)
	}
	if v.CanAddr() && v.Kind() != reflect.Interface && v.Addr().Type().Implements(unmarshalerType) {
		return v.Addr().Interface().(Unmarshaler).UnmarshalCQL(t, data)
	}
	null := isNullData(t, data)
	switch v.Kind() {
	case reflect.Interface:
		if null {
			v.SetZero()
			return nil
		}
		if v.NumMethod() != 0 {
			return decErrV(t, v, errors.New("cannot decode into a non-empty interface"))
		}
		nv, err := decodeNatural(t, data, depth+1)
		if err != nil {
			return err
		}
		if nv == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(nv))
		}
		return nil
	case reflect.Pointer:
		if null {
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return decodeReflect(t, data, v.Elem(), depth+1)
	}
	if null {
		v.SetZero()
		return nil
	}
	switch t.Kind {
	case Tinyint, Smallint, Int, Bigint, Counter, Varint:
		return decodeIntInto(t, data, v)
	case Float, Double:
		return decodeFloatInto(t, data, v)
	case Boolean:
		if v.Kind() != reflect.Bool {
			return decErrV(t, v, nil)
		}
		if len(data) != 1 {
			return decErrV(t, v, sizeErr(1, len(data)))
		}
		v.SetBool(data[0] != 0)
		return nil
	case Ascii, Varchar, Blob, Custom:
		return decodeBytesInto(t, data, v)
	case Decimal:
		if v.Type() != decimalType {
			return decErrV(t, v, nil)
		}
		d, err := decodeDecimal(data)
		if err != nil {
			return decErrV(t, v, err)
		}
		v.Set(reflect.ValueOf(d))
		return nil
	case Timestamp, Date:
		if v.Type() == timeType {
			var tm time.Time
			var err error
			if t.Kind == Date {
				tm, err = decodeDate(data)
			} else {
				tm, err = decodeTimestamp(data)
			}
			if err != nil {
				return decErrV(t, v, err)
			}
			v.Set(reflect.ValueOf(tm))
			return nil
		}
		if t.Kind == Timestamp && isIntTarget(v) && v.Type() != durationType {
			if len(data) != 8 {
				return decErrV(t, v, sizeErr(8, len(data)))
			}
			return setInt(t, v, int64(binary.BigEndian.Uint64(data)))
		}
		return decErrV(t, v, nil)
	case Time:
		if !isIntTarget(v) {
			return decErrV(t, v, nil)
		}
		d, err := decodeTime(data)
		if err != nil {
			return decErrV(t, v, err)
		}
		return setInt(t, v, int64(d))
	case Duration:
		d, err := decodeDuration(data)
		if err != nil {
			return decErrV(t, v, err)
		}
		switch {
		case v.Type() == cqlDurType:
			v.Set(reflect.ValueOf(d))
		case v.Type() == durationType:
			if d.Months != 0 || d.Days != 0 {
				return decErrV(t, v, fmt.Errorf("%v has months or days, which have no fixed length", d))
			}
			v.SetInt(d.Nanoseconds)
		default:
			return decErrV(t, v, nil)
		}
		return nil
	case Inet:
		a, err := decodeInet(data)
		if err != nil {
			return decErrV(t, v, err)
		}
		switch {
		case v.Type() == netipAddrType:
			v.Set(reflect.ValueOf(a))
		case v.Type() == netIPType:
			v.Set(reflect.ValueOf(net.IP(a.AsSlice())))
		case v.Kind() == reflect.String:
			v.SetString(a.String())
		default:
			return decErrV(t, v, nil)
		}
		return nil
	case UUID, Timeuuid:
		u, err := decodeUUID(t, data)
		if err != nil {
			return decErrV(t, v, err)
		}
		switch {
		case v.Kind() == reflect.Array && v.Len() == 16 && v.Type().Elem().Kind() == reflect.Uint8:
			for i := range u {
				v.Index(i).SetUint(uint64(u[i]))
			}
		case v.Kind() == reflect.String:
			v.SetString(u.String())
		case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
			v.SetBytes(append([]byte(nil), u[:]...))
		default:
			return decErrV(t, v, nil)
		}
		return nil
	case List, Set:
		return decodeCollection(t, data, v, depth)
	case Map:
		return decodeMap(t, data, v, depth)
	case Tuple:
		return decodeTuple(t, data, v, depth)
	case UDT:
		return decodeUDT(t, data, v, depth)
	case Vector:
		return decodeVector(t, data, v, depth)
	}
	return decErrV(t, v, fmt.Errorf("unknown kind %v", t.Kind))
}

func isIntTarget(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

// setInt stores i in an integer destination, checking that it fits.
func setInt(t *Type, v reflect.Value, i int64) error {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.OverflowInt(i) {
			return &CodecError{Op: "decode", GoType: v.Type().String(), CQLType: t.String(), Value: fmt.Sprint(i), Err: fmt.Errorf("%w: %d", ErrOutOfRange, i)}
		}
		v.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if i < 0 || v.OverflowUint(uint64(i)) {
			return &CodecError{Op: "decode", GoType: v.Type().String(), CQLType: t.String(), Err: fmt.Errorf("%w: %d", ErrOutOfRange, i)}
		}
		v.SetUint(uint64(i))
		return nil
	}
	return decErrV(t, v, nil)
}

func decodeIntInto(t *Type, data []byte, v reflect.Value) error {
	i, b, err := wireInt(t, data)
	if err != nil {
		return decErrV(t, v, err)
	}
	if v.Type() == bigIntType {
		z := v.Addr().Interface().(*big.Int)
		if b != nil {
			z.Set(b)
		} else {
			z.SetInt64(i)
		}
		return nil
	}
	if v.Type() == durationType || !isIntTarget(v) {
		return decErrV(t, v, nil)
	}
	if b != nil {
		if v.Kind() >= reflect.Uint && v.Kind() <= reflect.Uintptr && b.IsUint64() && !v.OverflowUint(b.Uint64()) {
			v.SetUint(b.Uint64())
			return nil
		}
		return decErrV(t, v, fmt.Errorf("%w: %s", ErrOutOfRange, shortText(b.String())))
	}
	return setInt(t, v, i)
}

func decodeFloatInto(t *Type, data []byte, v reflect.Value) error {
	var f float64
	if t.Kind == Float {
		if len(data) != 4 {
			return decErrV(t, v, sizeErr(4, len(data)))
		}
		f = float64(math.Float32frombits(binary.BigEndian.Uint32(data)))
	} else {
		if len(data) != 8 {
			return decErrV(t, v, sizeErr(8, len(data)))
		}
		f = math.Float64frombits(binary.BigEndian.Uint64(data))
	}
	switch v.Kind() {
	case reflect.Float64:
	case reflect.Float32:
		if t.Kind == Double {
			// Narrowing would lose precision silently.
			return decErrV(t, v, nil)
		}
	default:
		return decErrV(t, v, nil)
	}
	v.SetFloat(f)
	return nil
}

func decodeBytesInto(t *Type, data []byte, v reflect.Value) error {
	isText := t.Kind == Ascii || t.Kind == Varchar
	switch {
	case v.Kind() == reflect.String:
		if isText {
			if err := checkText(t, data, v.Type().String()); err != nil {
				return err
			}
		}
		v.SetString(string(data))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 && v.Type() != netIPType:
		v.SetBytes(append(make([]byte, 0, len(data)), data...))
	default:
		return decErrV(t, v, nil)
	}
	return nil
}

// readCount reads a collection's [int] element count and checks that the
// elements can fit in the remaining bytes, each taking at least minSize.
func readCount(t *Type, v reflect.Value, data []byte, minSize int) (int, []byte, error) {
	if len(data) < 4 {
		return 0, nil, decErrV(t, v, fmt.Errorf("%w: element count", ErrTruncated))
	}
	n := int32(binary.BigEndian.Uint32(data))
	rest := data[4:]
	if n < 0 {
		return 0, nil, decErrV(t, v, fmt.Errorf("negative element count %d", n))
	}
	if int(n) > len(rest)/minSize {
		return 0, nil, decErrV(t, v, fmt.Errorf("%w: %d elements need at least %d bytes, %d remain", ErrTruncated, n, int(n)*minSize, len(rest)))
	}
	return int(n), rest, nil
}

// readElement reads one [bytes] element; nil means null.
func readElement(data []byte) (elem, rest []byte, err error) {
	if len(data) < 4 {
		return nil, nil, fmt.Errorf("%w: element length", ErrTruncated)
	}
	n := int32(binary.BigEndian.Uint32(data))
	data = data[4:]
	if n < 0 {
		return nil, data, nil
	}
	if int(n) > len(data) {
		return nil, nil, fmt.Errorf("%w: element of %d bytes, %d remain", ErrTruncated, n, len(data))
	}
	return data[:n:n], data[n:], nil
}

func trailingErr(t *Type, v reflect.Value, n int) error {
	return decErrV(t, v, fmt.Errorf("%d bytes after the last element", n))
}

// checkKey rejects map keys Go cannot hash (a slice inside an interface),
// which would otherwise panic in SetMapIndex.
func checkKey(t *Type, k reflect.Value) error {
	if !k.Comparable() {
		return decErrV(t, k, errors.New("key is not comparable in Go; decode into []types.MapEntry"))
	}
	return nil
}

func decodeCollection(t *Type, data []byte, v reflect.Value, depth int) error {
	if t.Elem == nil {
		return decErrV(t, v, errors.New("incomplete type descriptor"))
	}
	var set reflect.Value // for map-as-set destinations
	switch {
	case v.Kind() == reflect.Slice, v.Kind() == reflect.Array:
	case v.Kind() == reflect.Map && t.Kind == Set &&
		(v.Type().Elem().Kind() == reflect.Bool || v.Type().Elem().Kind() == reflect.Struct && v.Type().Elem().NumField() == 0):
		set = reflect.New(v.Type().Elem()).Elem()
		if set.Kind() == reflect.Bool {
			set.SetBool(true)
		}
	default:
		return decErrV(t, v, nil)
	}
	n, rest, err := readCount(t, v, data, 4)
	if err != nil {
		return err
	}
	var out reflect.Value
	switch v.Kind() {
	case reflect.Slice:
		out = reflect.MakeSlice(v.Type(), n, n)
	case reflect.Array:
		if n != v.Len() {
			return decErrV(t, v, fmt.Errorf("%d elements for an array of %d", n, v.Len()))
		}
		out = v
	case reflect.Map:
		out = reflect.MakeMapWithSize(v.Type(), n)
	}
	for i := range n {
		var elem []byte
		elem, rest, err = readElement(rest)
		if err == nil && isNullData(t.Elem, elem) {
			err = ErrNullElement
		}
		if err != nil {
			return atPath(decErrV(t, v, err), indexStep(i))
		}
		if set.IsValid() {
			k := reflect.New(v.Type().Key()).Elem()
			if err := decodeReflect(t.Elem, elem, k, depth+1); err != nil {
				return atPath(err, indexStep(i))
			}
			if err := checkKey(t.Elem, k); err != nil {
				return atPath(err, indexStep(i))
			}
			out.SetMapIndex(k, set)
			continue
		}
		if err := decodeReflect(t.Elem, elem, out.Index(i), depth+1); err != nil {
			return atPath(err, indexStep(i))
		}
	}
	if len(rest) != 0 {
		return trailingErr(t, v, len(rest))
	}
	if v.Kind() != reflect.Array {
		v.Set(out)
	}
	return nil
}

func decodeMap(t *Type, data []byte, v reflect.Value, depth int) error {
	if t.Key == nil || t.Elem == nil {
		return decErrV(t, v, errors.New("incomplete type descriptor"))
	}
	isEntries := v.Type() == mapEntriesType
	if v.Kind() != reflect.Map && !isEntries {
		return decErrV(t, v, nil)
	}
	n, rest, err := readCount(t, v, data, 8)
	if err != nil {
		return err
	}
	if isEntries {
		entries := make([]MapEntry, n)
		for i := range entries {
			var kb, vb []byte
			if kb, rest, err = readElement(rest); err == nil {
				vb, rest, err = readElement(rest)
			}
			if err == nil && (isNullData(t.Key, kb) || isNullData(t.Elem, vb)) {
				err = ErrNullElement
			}
			if err != nil {
				return atPath(decErrV(t, v, err), indexStep(i))
			}
			if entries[i].Key, err = decodeNatural(t.Key, kb, depth+1); err != nil {
				return atPath(err, indexStep(i)+".key")
			}
			if entries[i].Value, err = decodeNatural(t.Elem, vb, depth+1); err != nil {
				return atPath(err, indexStep(i))
			}
		}
		if len(rest) != 0 {
			return trailingErr(t, v, len(rest))
		}
		v.Set(reflect.ValueOf(entries))
		return nil
	}
	out := reflect.MakeMapWithSize(v.Type(), n)
	for i := range n {
		var kb, vb []byte
		if kb, rest, err = readElement(rest); err == nil {
			vb, rest, err = readElement(rest)
		}
		if err == nil && (isNullData(t.Key, kb) || isNullData(t.Elem, vb)) {
			err = ErrNullElement
		}
		if err != nil {
			return atPath(decErrV(t, v, err), indexStep(i))
		}
		k := reflect.New(v.Type().Key()).Elem()
		if err := decodeReflect(t.Key, kb, k, depth+1); err != nil {
			return atPath(err, indexStep(i)+".key")
		}
		if err := checkKey(t.Key, k); err != nil {
			return atPath(err, indexStep(i)+".key")
		}
		e := reflect.New(v.Type().Elem()).Elem()
		if err := decodeReflect(t.Elem, vb, e, depth+1); err != nil {
			return atPath(err, indexStep(i))
		}
		out.SetMapIndex(k, e)
	}
	if len(rest) != 0 {
		return trailingErr(t, v, len(rest))
	}
	v.Set(out)
	return nil
}

func decodeTuple(t *Type, data []byte, v reflect.Value, depth int) error {
	parts, err := splitComponents(t, v, data, len(t.Elems))
	if err != nil {
		return err
	}
	part := func(i int) []byte {
		if i < len(parts) {
			return parts[i]
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Slice:
		out := reflect.MakeSlice(v.Type(), len(t.Elems), len(t.Elems))
		for i, et := range t.Elems {
			if err := decodeReflect(et, part(i), out.Index(i), depth+1); err != nil {
				return atPath(err, indexStep(i))
			}
		}
		v.Set(out)
		return nil
	case reflect.Array:
		if v.Len() != len(t.Elems) {
			return decErrV(t, v, fmt.Errorf("%d components for an array of %d", len(t.Elems), v.Len()))
		}
		for i, et := range t.Elems {
			if err := decodeReflect(et, part(i), v.Index(i), depth+1); err != nil {
				return atPath(err, indexStep(i))
			}
		}
		return nil
	case reflect.Struct:
		if isOpaqueStruct(v.Type()) {
			break
		}
		fields := tupleFields(v.Type())
		if len(fields) != len(t.Elems) {
			return decErrV(t, v, fmt.Errorf("%d components, struct has %d fields", len(t.Elems), len(fields)))
		}
		for i, f := range fields {
			if err := decodeReflect(t.Elems[i], part(i), v.Field(f), depth+1); err != nil {
				return atPath(err, "."+v.Type().Field(f).Name)
			}
		}
		return nil
	}
	return decErrV(t, v, nil)
}

// splitComponents splits a tuple or UDT value into at most n [bytes]
// components. A value may stop early at a component boundary (a UDT value
// written before fields were added): the missing components are null.
func splitComponents(t *Type, v reflect.Value, data []byte, n int) ([][]byte, error) {
	// Each component takes at least 4 bytes, which bounds the allocation.
	parts := make([][]byte, 0, min(n, len(data)/4))
	rest := data
	for len(rest) > 0 {
		if len(parts) == n {
			return nil, decErrV(t, v, fmt.Errorf("%d bytes after the last component", len(rest)))
		}
		elem, r, err := readElement(rest)
		if err != nil {
			return nil, atPath(decErrV(t, v, err), indexStep(len(parts)))
		}
		parts = append(parts, elem)
		rest = r
	}
	return parts, nil
}

func decodeUDT(t *Type, data []byte, v reflect.Value, depth int) error {
	parts, err := splitComponents(t, v, data, len(t.Fields))
	if err != nil {
		return err
	}
	part := func(i int) []byte {
		if i < len(parts) {
			return parts[i]
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			break
		}
		out := reflect.MakeMapWithSize(v.Type(), len(t.Fields))
		for i, f := range t.Fields {
			e := reflect.New(v.Type().Elem()).Elem()
			if err := decodeReflect(f.Type, part(i), e, depth+1); err != nil {
				return atPath(err, "."+f.Name)
			}
			out.SetMapIndex(reflect.ValueOf(f.Name).Convert(v.Type().Key()), e)
		}
		v.Set(out)
		return nil
	case reflect.Struct:
		if isOpaqueStruct(v.Type()) {
			break
		}
		for i, f := range t.Fields {
			fi := structFieldFor(v.Type(), f.Name)
			if fi < 0 {
				continue // a field added to the type after the struct was written
			}
			if err := decodeReflect(f.Type, part(i), v.Field(fi), depth+1); err != nil {
				return atPath(err, "."+f.Name)
			}
		}
		return nil
	}
	return decErrV(t, v, nil)
}

func decodeVector(t *Type, data []byte, v reflect.Value, depth int) error {
	if t.Elem == nil || t.Dimension <= 0 {
		return decErrV(t, v, errors.New("incomplete type descriptor"))
	}
	if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
		return decErrV(t, v, nil)
	}
	dim := t.Dimension
	size := vectorElemSize(t.Elem)
	if size > 0 {
		if int64(len(data)) != int64(size)*int64(dim) {
			return decErrV(t, v, fmt.Errorf("needs %d bytes for %d elements of %d, got %d", int64(size)*int64(dim), dim, size, len(data)))
		}
	} else if dim > len(data) {
		// Every element has at least its one-byte length.
		return decErrV(t, v, fmt.Errorf("%w: %d elements cannot fit in %d bytes", ErrTruncated, dim, len(data)))
	}
	out := v
	switch v.Kind() {
	case reflect.Slice:
		out = reflect.MakeSlice(v.Type(), dim, dim)
	case reflect.Array:
		if v.Len() != dim {
			return decErrV(t, v, fmt.Errorf("%d elements for an array of %d", dim, v.Len()))
		}
	}
	rest := data
	for i := range dim {
		var elem []byte
		if size > 0 {
			elem, rest = rest[:size:size], rest[size:]
		} else {
			n, m, err := ReadUvint(rest)
			if err != nil {
				return atPath(decErrV(t, v, err), indexStep(i))
			}
			rest = rest[m:]
			if n > uint64(len(rest)) {
				return atPath(decErrV(t, v, fmt.Errorf("%w: element of %d bytes, %d remain", ErrTruncated, n, len(rest))), indexStep(i))
			}
			elem, rest = rest[:n:n], rest[n:]
		}
		if isNullData(t.Elem, elem) {
			return atPath(decErrV(t, v, ErrNullElement), indexStep(i))
		}
		if err := decodeReflect(t.Elem, elem, out.Index(i), depth+1); err != nil {
			return atPath(err, indexStep(i))
		}
	}
	if len(rest) != 0 {
		return trailingErr(t, v, len(rest))
	}
	if v.Kind() == reflect.Slice {
		v.Set(out)
	}
	return nil
}
