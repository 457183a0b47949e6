// Package types describes CQL data types and converts values between Go and
// the bytes the native protocol carries.
//
// The package does no I/O and starts no goroutines: every function works on
// byte slices, so it can be fuzzed and used to check captured traffic.
// It must never import any other package of this module.
//
// # Type descriptors
//
// A [Type] is a plain descriptor (native kind, list, set, map, tuple, UDT,
// vector, custom). [ReadOption] and [AppendOption] convert it from and to the
// wire [option] of RESULT metadata; [ParseClassName] and [Type.ClassName]
// from and to Java marshal class names (custom options, old schema tables).
// Vectors have no option id: they travel as a custom option naming
//
//	org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType , 3)
//
// Types read from the wire are nested at most [MaxDepth] levels.
//
// # Values
//
// [Append] encodes a Go value as the bytes of one CQL value (without the
// 4-byte length prefix); [Decode] decodes such bytes into a Go variable.
//
// Null and unset: Append reports null=true, appending nothing, for nil and
// for nil pointers, slices and maps; the caller writes the length -1. For
// [Unset] it returns the error [ErrUnset] itself and the caller writes -2.
// Decode treats data == nil as null and sets the destination to its zero
// value (nil for pointers, so decode into **T or *any to tell null from
// zero). A zero-length value is null too, except for ascii, text, blob and
// custom, where it is the empty string or slice. Lists, sets, maps and
// vectors cannot hold null elements ([ErrNullElement]); tuple components and
// UDT fields can.
//
// Every type also accepts a [Marshaler] (encode) or [Unmarshaler] (decode),
// and pointers to anything accepted. Named types (type MyID int64, a
// [16]byte UUID type from another package...) work by their underlying kind.
//
//	CQL type        Append accepts                                  Decode into *any gives
//	ascii, text     string, []byte (validated ASCII / UTF-8)        string
//	blob, custom    []byte, string, [N]byte                         []byte (a copy)
//	boolean         bool                                            bool
//	tinyint         any Go integer, *big.Int, in range              int8
//	smallint        any Go integer, *big.Int, in range              int16
//	int             any Go integer, *big.Int, in range              int32
//	bigint, counter any Go integer, *big.Int, in range              int64
//	varint          any Go integer, *big.Int, big.Int               *big.Int
//	decimal         DecimalValue, *big.Int, integers, float32/64    DecimalValue
//	float           float32, float64 (rounded; overflow is an       float32
//	                error), integers up to 2^24 in magnitude
//	double          float64, float32, integers up to 2^53           float64
//	timestamp       time.Time (ms precision), integers (ms)         time.Time, UTC
//	date            time.Time (its calendar date in its location)   time.Time, UTC midnight
//	time            time.Duration, integers (ns), time.Time (its    time.Duration
//	                clock); 0 to 24h-1ns
//	duration        DurationValue, time.Duration                    DurationValue
//	inet            netip.Addr, net.IP, string                      netip.Addr
//	uuid, timeuuid  UUIDValue, [16]byte, []byte (16), string        UUIDValue
//	list, set       slices, arrays; for set also map[T]struct{}     []T (T natural for the
//	                and map[T]bool                                  element type)
//	map             maps, []MapEntry                                map[K]V, or []MapEntry when
//	                                                                K is blob, varint, decimal,
//	                                                                or a collection, tuple or
//	                                                                UDT
//	tuple           []any, slices, arrays, structs (exported        []any
//	                fields in order)
//	UDT             map[string]any (missing fields are null),       map[string]any
//	                structs (cql:"name" tags, else the field name
//	                without regard to case; cql:"-" skips)
//	vector          slices and arrays of exactly the dimension;     []T; []float32 for
//	                []float32 for vector<float, n> (fast path)      vector<float, n>
//
// Typed destinations follow the same table in reverse, with conversions
// that cannot lose information: int into *int8 when it fits, tinyint into
// *int64, float into *float64, timestamp into *int64 (ms), time into
// *int64 (ns), duration into *time.Duration when it has no months or days,
// inet into *net.IP or *string, uuid into *string or *[16]byte, list and
// set into slices and arrays, set into map[T]struct{}, tuple into structs
// and slices, UDT into structs and maps. Decoding a UDT into a struct
// ignores fields the struct lacks (the type may have gained fields), and a
// value with fewer fields than the type leaves the rest null.
//
// Errors are *[CodecError] and name both types, e.g.
//
//	types: cannot encode int64 300 as tinyint: out of range
//	types: cannot encode []float32 as vector<float, 3>: needs 3 elements, got 2
//	types: cannot decode int into int32 at [2]: needs 4 bytes, got 3
//
// Maps are encoded in Go's map iteration order. Decoding checks every length
// and count against the bytes that remain before allocating, so hostile
// input gives an error, never a panic or a huge allocation.
//
// # vector<float, n>
//
// [AppendFloat32Vector] and [DecodeFloat32Vector] convert []float32 without
// reflection or allocation (given buffers with capacity); Append and Decode
// use them for []float32 and *[]float32 values of vector<float, n>.
// Elements of a fixed-size type (boolean, int, bigint, float, double,
// timestamp, uuid, timeuuid, and vectors of those) are concatenated; all
// others (text, smallint, tinyint, date, time, counter, collections, ...) are
// each prefixed by an unsigned vint length, as Cassandra 5.0 does.
package types
