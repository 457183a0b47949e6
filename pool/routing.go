package pool

import "fmt"

// AppendRoutingKey appends to dst the routing key of a partition key: the
// bytes the partitioner hashes. components are the serialized values of the
// partition key columns, in partition key order (for a prepared statement,
// the bound values at its partition key indexes).
//
// A single-component key is the value's bytes. A composite key is, for each
// component, its length as 2 bytes big-endian, its bytes, and a 0x00 byte;
// a component longer than 65535 bytes cannot be part of a composite key and
// is an error, as is an empty component list. Partition key values cannot be
// null; a nil component is treated as empty.
//
// With a dst of sufficient capacity it does not allocate.
func AppendRoutingKey(dst []byte, components ...[]byte) ([]byte, error) {
	switch len(components) {
	case 0:
		return dst, fmt.Errorf("pool: routing key of no components")
	case 1:
		return append(dst, components[0]...), nil
	}
	for i, c := range components {
		if len(c) > 0xffff {
			return dst, fmt.Errorf("pool: routing key component %d is %d bytes, more than 65535", i, len(c))
		}
	}
	for _, c := range components {
		dst = append(dst, byte(len(c)>>8), byte(len(c)))
		dst = append(dst, c...)
		dst = append(dst, 0)
	}
	return dst, nil
}
