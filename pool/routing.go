package pool

import (
	"fmt"

	"github.com/cqlwire/cqlwire/frame"
)

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
		dst = appendComponent(dst, c)
	}
	return dst, nil
}

// appendComponent appends one component of a composite routing key.
func appendComponent(dst, c []byte) []byte {
	dst = append(dst, byte(len(c)>>8), byte(len(c)))
	dst = append(dst, c...)
	return append(dst, 0)
}

// AppendPreparedRoutingKey appends the routing key of one execution of a
// prepared statement: the bound values at the statement's partition key
// indexes (frame.PreparedMetadata.PKIndexes), in that order, joined as
// AppendRoutingKey does. It fails, naming the index, when the statement has
// no partition key indexes, an index is beyond the values, or a key value
// is null or unset (the server would refuse such a request anyway). It
// allocates nothing when dst has room.
func AppendPreparedRoutingKey(dst []byte, pkIndexes []uint16, values []frame.Value) ([]byte, error) {
	if len(pkIndexes) == 0 {
		return dst, fmt.Errorf("pool: the prepared statement has no partition key indexes")
	}
	for _, i := range pkIndexes {
		switch {
		case int(i) >= len(values):
			return dst, fmt.Errorf("pool: partition key index %d, but only %d values are bound", i, len(values))
		case values[i].Unset:
			return dst, fmt.Errorf("pool: partition key value %d is unset", i)
		case values[i].Bytes == nil:
			return dst, fmt.Errorf("pool: partition key value %d is null", i)
		}
	}
	if len(pkIndexes) == 1 {
		return append(dst, values[pkIndexes[0]].Bytes...), nil
	}
	for _, i := range pkIndexes {
		c := values[i].Bytes
		if len(c) > 0xffff {
			return dst, fmt.Errorf("pool: partition key value %d is %d bytes, more than 65535", i, len(c))
		}
		dst = appendComponent(dst, c)
	}
	return dst, nil
}
