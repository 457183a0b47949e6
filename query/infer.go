package query

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"reflect"
	"sync"
	"time"

	"github.com/cqlwire/cqlwire/types"
)

// ErrCannotInfer is wrapped by InferType's errors: the Go type says too
// little (a struct could be a tuple or a user type, an empty []any has no
// element type) or nothing at all (channels, functions) about a CQL type.
var ErrCannotInfer = errors.New("query: cannot infer the CQL type")

// Shared descriptors of the native types InferType returns (types are
// immutable, so sharing is safe and saves an allocation per value).
var (
	tBoolean   = types.Native(types.Boolean)
	tTinyint   = types.Native(types.Tinyint)
	tSmallint  = types.Native(types.Smallint)
	tInt       = types.Native(types.Int)
	tBigint    = types.Native(types.Bigint)
	tVarint    = types.Native(types.Varint)
	tFloat     = types.Native(types.Float)
	tDouble    = types.Native(types.Double)
	tText      = types.Native(types.Varchar)
	tBlob      = types.Native(types.Blob)
	tTimestamp = types.Native(types.Timestamp)
	tDuration  = types.Native(types.Duration)
	tUUID      = types.Native(types.UUID)
	tInet      = types.Native(types.Inet)
	tDecimal   = types.Native(types.Decimal)
	tListFloat = types.ListOf(tFloat)
	tListText  = types.ListOf(tText)
)

var (
	rtTime     = reflect.TypeFor[time.Time]()
	rtDuration = reflect.TypeFor[time.Duration]()
	rtCQLDur   = reflect.TypeFor[types.DurationValue]()
	rtUUID     = reflect.TypeFor[types.UUIDValue]()
	rtAddr     = reflect.TypeFor[netip.Addr]()
	rtIP       = reflect.TypeFor[net.IP]()
	rtDecimal  = reflect.TypeFor[types.DecimalValue]()
	rtBigInt   = reflect.TypeFor[big.Int]()
	rtUnset    = reflect.TypeFor[types.UnsetValue]()
)

// inferCache maps a reflect.Type whose CQL type follows from the Go type
// alone to that *types.Type. Types that hold interfaces ([]any,
// map[string]any) depend on their contents and are never cached.
var inferCache sync.Map

// InferType returns the CQL type a value of a simple statement is sent as,
// from its Go type:
//
//	bool                         boolean
//	int8                         tinyint
//	int16, uint8                 smallint
//	int32, uint16                int
//	int, int64, uint32,          bigint (a uint or uint64 above 2^63-1
//	uint, uint64                 fails to encode)
//	*big.Int, big.Int            varint
//	float32                      float
//	float64                      double
//	string                       text
//	[]byte, [N]byte (N != 16)    blob
//	time.Time                    timestamp
//	time.Duration                duration
//	types.DurationValue          duration
//	types.UUIDValue, [16]byte    uuid
//	netip.Addr, net.IP           inet
//	types.DecimalValue           decimal
//	[]float32                    list<float>
//	[]T, [N]T                    list<T>
//	map[K]struct{}               set<K>
//	map[K]V                      map<K, V>
//
// Named types follow their underlying type. Pointers are followed. An
// interface element type ([]any, map[string]any) is inferred from the
// elements, which must then agree. A vector column needs a prepared
// statement, or Typed(types.VectorOf(...), v): a []float32 alone is a
// list<float>. Structs (tuples or user types), timeuuid, date, time and the
// other types Go cannot tell apart need Typed too.
//
// Values that carry no bytes need no type: for nil, nil pointers, slices
// and maps, and types.Unset, InferType returns a nil type and a nil error.
// A TypedValue gives its own Type. Other errors wrap ErrCannotInfer and
// name the Go type.
func InferType(v any) (*types.Type, error) {
	// The common cases, without reflection.
	switch x := v.(type) {
	case nil, types.UnsetValue, *types.UnsetValue:
		return nil, nil
	case TypedValue:
		if x.Type == nil {
			return nil, errors.New("query: Typed with a nil type")
		}
		return x.Type, nil
	case bool:
		return tBoolean, nil
	case int8:
		return tTinyint, nil
	case int16:
		return tSmallint, nil
	case int32:
		return tInt, nil
	case int, int64, uint32:
		return tBigint, nil
	case float32:
		return tFloat, nil
	case float64:
		return tDouble, nil
	case string:
		return tText, nil
	case []byte:
		if x == nil {
			return nil, nil
		}
		return tBlob, nil
	case time.Time:
		return tTimestamp, nil
	case time.Duration, types.DurationValue:
		return tDuration, nil
	case types.UUIDValue, [16]byte:
		return tUUID, nil
	case netip.Addr:
		return tInet, nil
	case net.IP:
		if x == nil {
			return nil, nil
		}
		return tInet, nil
	case types.DecimalValue:
		return tDecimal, nil
	case *big.Int:
		if x == nil {
			return nil, nil
		}
		return tVarint, nil
	case []float32:
		if x == nil {
			return nil, nil
		}
		return tListFloat, nil
	case []string:
		if x == nil {
			return nil, nil
		}
		return tListText, nil
	}
	return inferValue(reflect.ValueOf(v), reflect.TypeOf(v), 0)
}

// inferValue infers the type of rv; top is the Go type of the whole value,
// for error messages.
func inferValue(rv reflect.Value, top reflect.Type, depth int) (*types.Type, error) {
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return nil, nil
		}
		if depth++; depth >= types.MaxDepth {
			// A pointer that points to itself.
			return nil, cannotInfer(rv.Type(), top, ": nested too deeply")
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return nil, nil
	}
	switch rv.Kind() {
	case reflect.Slice, reflect.Map:
		if rv.IsNil() {
			return nil, nil
		}
	}
	rt := rv.Type()
	if rt == rtUnset {
		return nil, nil
	}
	if t, ok := inferCache.Load(rt); ok {
		return t.(*types.Type), nil
	}
	t, dynamic, err := inferStatic(rt, top, depth)
	if err != nil {
		return nil, err
	}
	if !dynamic {
		inferCache.Store(rt, t)
		return t, nil
	}
	// The type holds interfaces: look at the elements.
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		elem, err := inferElems(rv.Len(), rv.Index, rt, top, depth)
		if err != nil {
			return nil, err
		}
		return types.ListOf(elem), nil
	case reflect.Map:
		keys := rv.MapKeys()
		key, err := inferElems(len(keys), func(i int) reflect.Value { return keys[i] }, rt, top, depth)
		if err != nil {
			return nil, err
		}
		if isEmptyStruct(rt.Elem()) {
			return types.SetOf(key), nil
		}
		val, err := inferElems(len(keys), func(i int) reflect.Value { return rv.MapIndex(keys[i]) }, rt, top, depth)
		if err != nil {
			return nil, err
		}
		return types.MapOf(key, val), nil
	}
	return nil, cannotInfer(rt, top, "")
}

// inferElems infers the one CQL type of n elements (at(i) gives each);
// null elements are skipped (encoding reports them).
func inferElems(n int, at func(int) reflect.Value, rt, top reflect.Type, depth int) (*types.Type, error) {
	var t *types.Type
	for i := range n {
		et, err := inferValue(at(i), top, depth+1)
		if err != nil {
			return nil, err
		}
		switch {
		case et == nil:
		case t == nil:
			t = et
		case !types.Equal(t, et):
			return nil, cannotInfer(rt, top, fmt.Sprintf(": elements of different types (%v and %v)", t, et))
		}
	}
	if t == nil {
		return nil, cannotInfer(rt, top, ": no non-null element to infer the element type from")
	}
	return t, nil
}

// inferStatic infers the CQL type of Go type rt. dynamic reports that the
// answer depends on the value (an interface is involved); t is then nil.
func inferStatic(rt, top reflect.Type, depth int) (t *types.Type, dynamic bool, err error) {
	if depth >= types.MaxDepth {
		return nil, false, cannotInfer(rt, top, ": nested too deeply")
	}
	if c, ok := inferCache.Load(rt); ok {
		return c.(*types.Type), false, nil
	}
	switch rt {
	case rtTime:
		return tTimestamp, false, nil
	case rtDuration, rtCQLDur:
		return tDuration, false, nil
	case rtUUID:
		return tUUID, false, nil
	case rtAddr, rtIP:
		return tInet, false, nil
	case rtDecimal:
		return tDecimal, false, nil
	case rtBigInt:
		return tVarint, false, nil
	}
	switch rt.Kind() {
	case reflect.Bool:
		return tBoolean, false, nil
	case reflect.Int8:
		return tTinyint, false, nil
	case reflect.Int16, reflect.Uint8:
		return tSmallint, false, nil
	case reflect.Int32, reflect.Uint16:
		return tInt, false, nil
	case reflect.Int, reflect.Int64, reflect.Uint32, reflect.Uint, reflect.Uint64:
		return tBigint, false, nil
	case reflect.Float32:
		return tFloat, false, nil
	case reflect.Float64:
		return tDouble, false, nil
	case reflect.String:
		return tText, false, nil
	case reflect.Pointer:
		return inferStatic(rt.Elem(), top, depth+1)
	case reflect.Interface:
		return nil, true, nil
	case reflect.Slice, reflect.Array:
		if rt.Elem().Kind() == reflect.Uint8 {
			if rt.Kind() == reflect.Array && rt.Len() == 16 {
				return tUUID, false, nil
			}
			return tBlob, false, nil
		}
		elem, dyn, err := inferStatic(rt.Elem(), top, depth+1)
		if err != nil || dyn {
			return nil, dyn, err
		}
		return types.ListOf(elem), false, nil
	case reflect.Map:
		key, kdyn, err := inferStatic(rt.Key(), top, depth+1)
		if err != nil {
			return nil, false, err
		}
		if isEmptyStruct(rt.Elem()) {
			if kdyn {
				return nil, true, nil
			}
			return types.SetOf(key), false, nil
		}
		val, vdyn, err := inferStatic(rt.Elem(), top, depth+1)
		if err != nil {
			return nil, false, err
		}
		if kdyn || vdyn {
			return nil, true, nil
		}
		return types.MapOf(key, val), false, nil
	case reflect.Struct:
		return nil, false, cannotInfer(rt, top, " (a struct may be a tuple or a user-defined type)")
	}
	return nil, false, cannotInfer(rt, top, "")
}

func isEmptyStruct(rt reflect.Type) bool {
	return rt.Kind() == reflect.Struct && rt.NumField() == 0
}

func cannotInfer(rt, top reflect.Type, why string) error {
	in := ""
	if top != nil && top != rt {
		in = " in " + top.String()
	}
	return fmt.Errorf("%w of Go type %v%s%s; give it with query.Typed(cqlType, value)", ErrCannotInfer, rt, in, why)
}
