package types

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// AppendFloat32Vector appends the encoding of vector<float, len(v)>: each
// element as 4 big-endian IEEE-754 bytes, with no count and no lengths. It
// allocates only when dst lacks capacity.
func AppendFloat32Vector(dst []byte, v []float32) []byte {
	n := len(dst)
	dst = slices.Grow(dst, 4*len(v))[:n+4*len(v)]
	out := dst[n:]
	// Four at a time; the loop condition lets the compiler drop every
	// bounds check inside.
	for len(v) >= 4 && len(out) >= 16 {
		binary.BigEndian.PutUint32(out[0:4], math.Float32bits(v[0]))
		binary.BigEndian.PutUint32(out[4:8], math.Float32bits(v[1]))
		binary.BigEndian.PutUint32(out[8:12], math.Float32bits(v[2]))
		binary.BigEndian.PutUint32(out[12:16], math.Float32bits(v[3]))
		v, out = v[4:], out[16:]
	}
	for len(v) >= 1 && len(out) >= 4 {
		binary.BigEndian.PutUint32(out[0:4], math.Float32bits(v[0]))
		v, out = v[1:], out[4:]
	}
	return dst
}

// DecodeFloat32Vector decodes the bytes of a vector<float, n> (n = len(data)/4)
// into dst[:n], reusing dst's backing array when its capacity suffices, and
// returns the slice. It checks only that len(data) is a multiple of 4; the
// caller checks n against the vector's dimension.
func DecodeFloat32Vector(dst []float32, data []byte) ([]float32, error) {
	if len(data)%4 != 0 {
		return dst[:0], &CodecError{Op: "decode", GoType: "[]float32", CQLType: "vector<float>",
			Err: fmt.Errorf("%d bytes is not a whole number of floats", len(data))}
	}
	n := len(data) / 4
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	out := dst
	for len(out) >= 4 && len(data) >= 16 {
		out[0] = math.Float32frombits(binary.BigEndian.Uint32(data[0:4]))
		out[1] = math.Float32frombits(binary.BigEndian.Uint32(data[4:8]))
		out[2] = math.Float32frombits(binary.BigEndian.Uint32(data[8:12]))
		out[3] = math.Float32frombits(binary.BigEndian.Uint32(data[12:16]))
		out, data = out[4:], data[16:]
	}
	for len(out) >= 1 && len(data) >= 4 {
		out[0] = math.Float32frombits(binary.BigEndian.Uint32(data[0:4]))
		out, data = out[1:], data[4:]
	}
	return dst, nil
}
