package query

import "github.com/cqlwire/cqlwire/frame"

// BatchType is the kind of a BATCH: the same type as frame's, so that the
// session passes it through unchanged.
type BatchType = frame.BatchType

const (
	// LoggedBatch (the zero value) goes through the batch log: either all
	// its statements are applied, eventually, or none.
	LoggedBatch = frame.BatchLogged
	// UnloggedBatch skips the batch log: faster, and not atomic across
	// partitions.
	UnloggedBatch = frame.BatchUnlogged
	// CounterBatch holds counter updates only.
	CounterBatch = frame.BatchCounter
)
