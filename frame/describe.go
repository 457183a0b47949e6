package frame

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Describer is implemented by messages that describe themselves better than
// a walk over their fields would (rows, for example, show decoded cells).
// Describe returns a plain value that Describe dumps in their place.
type Describer interface {
	Describe() any
}

// Describe renders an envelope as deterministic, indented "Field: value"
// text: the readable form used by the conformance cases in testdata/frames
// and by the capture decoder. Byte slices print as hex (null as "null"),
// strings quoted, maps sorted by key, and values from other packages
// (CQL types, addresses) by their String method. Fields tagged
// describe:"omitempty" are left out when zero.
func Describe(e *Envelope) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Version: %d\n", e.Version)
	fmt.Fprintf(&b, "Response: %t\n", e.Response)
	fmt.Fprintf(&b, "Stream: %d\n", e.Stream)
	if e.Beta {
		b.WriteString("Beta: true\n")
	}
	fmt.Fprintf(&b, "Tracing: %t\n", e.Tracing)
	if e.Tracing && e.Response {
		fmt.Fprintf(&b, "TracingID: %s\n", hexBytes(e.TracingID[:]))
	}
	if e.Warnings != nil {
		describeField(&b, 0, "Warnings", reflect.ValueOf(e.Warnings))
	}
	if e.CustomPayload != nil {
		describeField(&b, 0, "CustomPayload", reflect.ValueOf(e.CustomPayload))
	}
	if e.Message == nil {
		b.WriteString("Message: nil\n")
	} else {
		describeField(&b, 0, "Message", reflect.ValueOf(&e.Message).Elem())
	}
	return b.String()
}

// DescribeMessage renders one message in the same form as Describe.
func DescribeMessage(m Message) string {
	var b strings.Builder
	describeField(&b, 0, "Message", reflect.ValueOf(&m).Elem())
	return b.String()
}

// describeBytesLimit bounds how much of a byte string a description shows:
// a 100 KiB blob would drown the fields around it. The bytes themselves are
// checked by re-encoding, not by the description.
const describeBytesLimit = 64

func hexBytes(p []byte) string {
	if len(p) > describeBytesLimit {
		return "0x" + hex.EncodeToString(p[:describeBytesLimit]) + "... (" + strconv.Itoa(len(p)) + " bytes)"
	}
	return "0x" + hex.EncodeToString(p)
}

var (
	describerType = reflect.TypeFor[Describer]()
	stringerType  = reflect.TypeFor[fmt.Stringer]()
	valueType     = reflect.TypeFor[Value]()
	framePkg      = reflect.TypeFor[Value]().PkgPath()
)

// scalar returns the one-line form of v, or ok=false when v needs nested lines.
func scalar(v reflect.Value) (s string, ok bool) {
	if !v.IsValid() {
		return "nil", true
	}
	t := v.Type()
	if v.CanInterface() && t.Implements(describerType) && !(t.Kind() == reflect.Pointer && v.IsNil()) {
		return "", false
	}
	if t == valueType {
		val := v.Interface().(Value)
		switch {
		case val.Unset:
			return "unset", true
		case val.Bytes == nil:
			return "null", true
		}
		return hexBytes(val.Bytes), true
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "nil", true
		}
	}
	if v.CanInterface() && t.Implements(stringerType) && useStringer(t) {
		return v.Interface().(fmt.Stringer).String(), true
	}
	switch t.Kind() {
	case reflect.String:
		return strconv.Quote(v.String()), true
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), true
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, t.Bits()), true
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			if v.IsNil() {
				return "null", true
			}
			return hexBytes(v.Bytes()), true
		}
		if v.IsNil() {
			return "nil", true
		}
		if v.Len() == 0 {
			return "[]", true
		}
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			p := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(p), v)
			return hexBytes(p), true
		}
	case reflect.Map:
		if v.IsNil() {
			return "nil", true
		}
		if v.Len() == 0 {
			return "{}", true
		}
	case reflect.Struct:
		if t.NumField() == 0 {
			return t.Name(), true
		}
	}
	return "", false
}

// useStringer: frame's own structs are walked field by field even if they
// have a String method; scalars and other packages' types (CQL types,
// addresses) print by String.
func useStringer(t reflect.Type) bool {
	st := t
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() != reflect.Struct {
		return true
	}
	return st.PkgPath() != framePkg
}

func describeField(b *strings.Builder, depth int, name string, v reflect.Value) {
	indent := strings.Repeat("  ", depth)
	if s, ok := scalar(v); ok {
		fmt.Fprintf(b, "%s%s: %s\n", indent, name, s)
		return
	}
	fmt.Fprintf(b, "%s%s:", indent, name)
	describeNested(b, depth, v)
}

// describeNested writes the rest of the line (a type name, if any) and the
// nested lines of a composite value.
func describeNested(b *strings.Builder, depth int, v reflect.Value) {
	indent := strings.Repeat("  ", depth+1)
	if v.CanInterface() && v.Type().Implements(describerType) {
		d := v.Interface().(Describer).Describe()
		fmt.Fprintf(b, " %s\n", derefType(v.Type()).Name())
		dv := reflect.ValueOf(d)
		if s, ok := scalar(dv); ok {
			fmt.Fprintf(b, "%s%s\n", indent, s)
			return
		}
		describeBody(b, depth, dv, indent)
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		if e := v.Elem(); e.CanInterface() && e.Type().Implements(describerType) {
			describeNested(b, depth, e)
			return
		}
		fmt.Fprintf(b, " %s\n", derefType(v.Elem().Type()).Name())
		inner := v.Elem()
		for inner.Kind() == reflect.Pointer {
			inner = inner.Elem()
		}
		if inner.Kind() == reflect.Struct {
			describeBody(b, depth, inner, indent)
		} else if s, ok := scalar(inner); ok {
			fmt.Fprintf(b, "%s%s\n", indent, s)
		} else {
			describeBody(b, depth, inner, indent)
		}
	case reflect.Pointer:
		describeNested(b, depth, v.Elem())
	default:
		b.WriteByte('\n')
		describeBody(b, depth, v, indent)
	}
}

func describeBody(b *strings.Builder, depth int, v reflect.Value, indent string) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			fmt.Fprintf(b, "%snil\n", indent)
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			// A field tagged describe:"omitempty" is rare on the wire:
			// showing it only when set keeps every other description
			// as it was.
			if f.Tag.Get("describe") == "omitempty" && v.Field(i).IsZero() {
				continue
			}
			describeField(b, depth+1, f.Name, v.Field(i))
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			e := v.Index(i)
			if s, ok := scalar(e); ok {
				fmt.Fprintf(b, "%s- %s\n", indent, s)
				continue
			}
			fmt.Fprintf(b, "%s-", indent)
			describeNested(b, depth+1, e)
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(x, y reflect.Value) int {
			xs, _ := scalar(x)
			ys, _ := scalar(y)
			return strings.Compare(xs, ys)
		})
		for _, k := range keys {
			ks, _ := scalar(k)
			describeField(b, depth+1, ks, v.MapIndex(k))
		}
	default:
		s, _ := scalar(v)
		fmt.Fprintf(b, "%s%s\n", indent, s)
	}
}

func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}
