package types

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// UUIDValue is a uuid or timeuuid value. (The Kind constant UUID names the
// CQL type; this is a value of it.)
type UUIDValue [16]byte

// ParseUUID parses the canonical 36-character form
// (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, either case) or 32 hex digits.
func ParseUUID(s string) (UUIDValue, error) {
	var u UUIDValue
	var h string
	switch len(s) {
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return u, fmt.Errorf("types: invalid UUID %q", s)
		}
		h = s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	case 32:
		h = s
	default:
		return u, fmt.Errorf("types: invalid UUID %q: wrong length", s)
	}
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return UUIDValue{}, fmt.Errorf("types: invalid UUID %q", s)
	}
	return u, nil
}

// String returns the canonical lower-case form.
func (u UUIDValue) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// Version returns the RFC 4122 version (1 for a timeuuid).
func (u UUIDValue) Version() int { return int(u[6] >> 4) }

// DecimalValue is a decimal value: Unscaled * 10^-Scale. A nil Unscaled is
// zero. (The Kind constant Decimal names the CQL type.)
type DecimalValue struct {
	Unscaled *big.Int
	Scale    int32
}

// ParseDecimal parses a decimal number such as "-12.345", "1e-7" or "6.02E23"
// exactly, keeping the scale the text implies ("1.50" has scale 2).
func ParseDecimal(s string) (DecimalValue, error) {
	bad := func() (DecimalValue, error) { return DecimalValue{}, fmt.Errorf("types: invalid decimal %q", s) }
	mant, exp := s, int64(0)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.ParseInt(s[i+1:], 10, 64)
		if err != nil {
			return bad()
		}
		mant, exp = s[:i], e
	}
	digits := mant
	scale := int64(0)
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		digits = mant[:i] + mant[i+1:]
		scale = int64(len(mant) - i - 1)
	}
	body := strings.TrimLeft(digits, "+-")
	if body == "" || len(digits)-len(body) > 1 || strings.Trim(body, "0123456789") != "" {
		return bad()
	}
	if exp < -1<<40 || exp > 1<<40 {
		return bad()
	}
	scale -= exp
	if scale < -1<<31 || scale > 1<<31-1 {
		return bad()
	}
	u, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return bad()
	}
	return DecimalValue{Unscaled: u, Scale: int32(scale)}, nil
}

// String formats d the way Java's BigDecimal.toString does: plain notation
// unless the scale is negative or the number is very small, then E notation.
func (d DecimalValue) String() string {
	u := d.Unscaled
	if u == nil {
		u = new(big.Int)
	}
	digits := u.String()
	neg := false
	if digits[0] == '-' {
		neg, digits = true, digits[1:]
	}
	scale := int64(d.Scale)
	adjusted := -scale + int64(len(digits)-1)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case scale == 0:
		b.WriteString(digits)
	case scale > 0 && adjusted >= -6:
		if int64(len(digits)) > scale {
			point := int64(len(digits)) - scale
			b.WriteString(digits[:point])
			b.WriteByte('.')
			b.WriteString(digits[point:])
		} else {
			b.WriteString("0.")
			b.WriteString(strings.Repeat("0", int(scale-int64(len(digits)))))
			b.WriteString(digits)
		}
	default:
		b.WriteString(digits[:1])
		if len(digits) > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		b.WriteByte('E')
		if adjusted >= 0 {
			b.WriteByte('+')
		}
		b.WriteString(strconv.FormatInt(adjusted, 10))
	}
	return b.String()
}

// DurationValue is a CQL duration. Months and days are kept apart from the
// nanoseconds because their length varies. All three fields must have the
// same sign (or be zero). (The Kind constant Duration names the CQL type.)
type DurationValue struct {
	Months      int32
	Days        int32
	Nanoseconds int64
}

// String renders d in CQL's duration literal form, e.g. "1mo2d3ns" or
// "-1d".
func (d DurationValue) String() string {
	if d == (DurationValue{}) {
		return "0s"
	}
	var b strings.Builder
	abs := func(v int64) uint64 {
		if v < 0 {
			return uint64(-v)
		}
		return uint64(v)
	}
	if d.Months < 0 || d.Days < 0 || d.Nanoseconds < 0 {
		b.WriteByte('-')
	}
	if d.Months != 0 {
		b.WriteString(strconv.FormatUint(abs(int64(d.Months)), 10) + "mo")
	}
	if d.Days != 0 {
		b.WriteString(strconv.FormatUint(abs(int64(d.Days)), 10) + "d")
	}
	if d.Nanoseconds != 0 {
		b.WriteString(strconv.FormatUint(abs(d.Nanoseconds), 10) + "ns")
	}
	return b.String()
}

func (d DurationValue) valid() bool {
	pos := d.Months >= 0 && d.Days >= 0 && d.Nanoseconds >= 0
	neg := d.Months <= 0 && d.Days <= 0 && d.Nanoseconds <= 0
	return pos || neg
}

// MapEntry is one key/value pair of a map. Decoding a map into *any gives
// []MapEntry, in wire order, when the key's Go type cannot be a Go map key
// (blob, list, tuple, UDT...); Append accepts []MapEntry for any map.
type MapEntry struct {
	Key, Value any
}

// UnsetValue is the type of [Unset].
type UnsetValue struct{}

// Unset, given to [Append] as a bound value, means "leave this column as it
// is" (protocol v4+). Append reports it with [ErrUnset]; the caller writes
// the [value] length -2. It is an error inside collections, tuples and UDTs.
var Unset UnsetValue

// ErrUnset is returned by Append, unwrapped, when the value is [Unset].
var ErrUnset = errors.New("types: unset value")

// Marshaler is implemented by Go types that encode themselves. AppendCQL
// appends the encoding of the receiver as a value of type t and reports
// null=true (appending nothing) for a null value.
type Marshaler interface {
	AppendCQL(dst []byte, t *Type) (out []byte, null bool, err error)
}

// Unmarshaler is implemented by Go types that decode themselves (through a
// pointer). data is nil for null; it is only valid during the call.
type Unmarshaler interface {
	UnmarshalCQL(t *Type, data []byte) error
}

// ErrNullElement is wrapped by codec errors for a null element in a list,
// set, map or vector: the protocol (v4+) has no way to store one. Tuples and
// UDTs do allow null components.
var ErrNullElement = errors.New("null elements are not allowed in collections and vectors")

// ErrOutOfRange is wrapped by codec errors for values that do not fit the
// CQL type (300 as tinyint, a time of day past midnight...).
var ErrOutOfRange = errors.New("out of range")

// CodecError reports a Go value that cannot be encoded as a CQL type, or CQL
// bytes that cannot be decoded into a Go destination.
type CodecError struct {
	Op      string // "encode" or "decode"
	GoType  string // the Go type of the value, or of the destination
	CQLType string // e.g. "tinyint", "list<int>"
	Value   string // the offending value when short and useful, else ""
	Path    string // where inside a collection, tuple or UDT, e.g. "[2].zip"
	Err     error  // the reason; nil when the types simply do not fit
}

func (e *CodecError) Error() string {
	var b strings.Builder
	b.WriteString("types: cannot ")
	b.WriteString(e.Op)
	b.WriteByte(' ')
	if e.Op == "decode" {
		b.WriteString(e.CQLType)
		b.WriteString(" into ")
		b.WriteString(e.GoType)
	} else {
		b.WriteString(e.GoType)
		if e.Value != "" {
			b.WriteByte(' ')
			b.WriteString(e.Value)
		}
		b.WriteString(" as ")
		b.WriteString(e.CQLType)
	}
	if e.Path != "" {
		b.WriteString(" at ")
		b.WriteString(e.Path)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *CodecError) Unwrap() error { return e.Err }

// atPath prefixes the location of a nested value to a codec error.
func atPath(err error, step string) error {
	var ce *CodecError
	if errors.As(err, &ce) {
		ce.Path = step + ce.Path
	}
	return err
}
