package frame

import (
	"encoding/binary"
	"fmt"
	"iter"
	"math"
)

// Rows is the RESULT of a SELECT (spec section 4.2.5.2): the metadata and
// one page of rows.
//
// The rows are kept as received: Content aliases the body (no copy), and the
// decoder checks once that it holds exactly RowCount × ColumnCount cells that
// fit, so walking it later cannot fail. Iter and All yield the bytes of each
// cell without allocating; turning bytes into Go values is left to package
// types, when and if the caller asks.
//
// With MetaNoMetadata (a prepared statement executed with skip-metadata) the
// column count is known but the column specs are not: iterate as usual and
// take the types from the statement's Prepared result (see
// RowsMetadata.ResolveColumns).
type Rows struct {
	Metadata RowsMetadata
	RowCount int
	// Content is <rows_content>: for each row, for each column, a [bytes]
	// cell (a negative length is null). Build it with AppendRow.
	Content []byte
}

func (*Rows) Opcode() Opcode         { return OpResult }
func (*Rows) ResultKind() ResultKind { return ResultRows }

// columnCount is the number of cells in each row.
func (m *RowsMetadata) columnCount() int {
	if m.ColumnCount == 0 && m.Flags&MetaNoMetadata == 0 {
		return len(m.Columns)
	}
	return m.ColumnCount
}

// AppendBody appends <metadata><rows_count><rows_content>. Content must hold
// exactly RowCount rows of the metadata's column count.
func (m *Rows) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := startResult(dst, v, ResultRows)
	if w.err == nil {
		m.Metadata.append(&w, v, "")
	}
	if w.err == nil {
		cols := m.Metadata.columnCount()
		switch {
		case m.RowCount < 0 || m.RowCount > math.MaxInt32:
			w.fail("rows_count", fmt.Errorf("%d rows out of range", m.RowCount))
		case cols == 0:
			// Rows of no columns have no cells (the spec allows them).
			if len(m.Content) != 0 {
				w.fail("rows_content", fmt.Errorf("%d bytes of Content for rows without columns", len(m.Content)))
			}
		default:
			used, bad, ok := skipCells(m.Content, m.RowCount*cols)
			switch {
			case !ok:
				w.fail("rows_content", fmt.Errorf("row %d column %d does not fit in Content", bad/cols, bad%cols))
			case used != len(m.Content):
				w.fail("rows_content", fmt.Errorf("%d bytes of Content after %d rows", len(m.Content)-used, m.RowCount))
			}
		}
		w.int32(int32(m.RowCount))
		w.raw(m.Content)
	}
	return finish(&w, dst)
}

// AppendRow appends one row to Content and counts it. cells must have one
// entry per column; nil is null. It is meant for building results (test
// servers, benchmarks); a decoded Content is never written to in place.
func (m *Rows) AppendRow(cells ...[]byte) error {
	if cols := m.Metadata.columnCount(); len(cells) != cols {
		return fmt.Errorf("frame: row of %d cells for %d columns", len(cells), cols)
	}
	for _, c := range cells {
		if len(c) > math.MaxInt32 {
			return fmt.Errorf("frame: cell of %d bytes exceeds the [bytes] limit", len(c))
		}
	}
	for _, c := range cells {
		if c == nil {
			m.Content = appendInt(m.Content, -1)
			continue
		}
		m.Content = appendInt(m.Content, int32(len(c)))
		m.Content = append(m.Content, c...)
	}
	m.RowCount++
	return nil
}

// skipCells walks count [bytes] cells from the start of b. It returns the
// bytes they take, or ok=false and the index of the first cell that does not
// fit.
func skipCells(b []byte, count int) (used int, bad int, ok bool) {
	off := 0
	for i := range count {
		if len(b)-off < 4 {
			return off, i, false
		}
		n := int32(binary.BigEndian.Uint32(b[off:]))
		off += 4
		if n > 0 {
			if int(n) > len(b)-off {
				return off - 4, i, false
			}
			off += int(n)
		}
	}
	return off, 0, true
}

func decodeRows(r *reader, v Version) *Rows {
	m := r.rows
	if m == nil {
		m = &Rows{}
	}
	m.Metadata.decode(r, v, "")
	countOff := r.off
	n := r.int32("rows_count")
	if r.err != nil {
		return nil
	}
	cols := m.Metadata.ColumnCount
	switch {
	case n < 0:
		r.off = countOff
		r.fail("rows_count", fmt.Errorf("negative count %d", n))
		return nil
	case cols == 0 && int(n) > r.max/4:
		// Rows of no columns are allowed (<rows_content> is then
		// rows_count times zero [bytes]) but cost nothing on the wire: no
		// more are accepted than a body of the size limit could hold with
		// one column, so a few bytes cannot make a caller walk 2^31 rows.
		r.off = countOff
		r.fail("rows_count", fmt.Errorf("%w: %d rows without columns, more than %d (a body of the %d-byte limit holds at most that many rows of one column)",
			ErrTooLarge, n, r.max/4, r.max))
		return nil
	}
	// Each cell takes at least its 4-byte length: check the count before
	// walking (n and cols are below 2^31, so the product fits).
	cells := int64(n) * int64(cols)
	if cells > int64(r.remaining()/4) {
		r.off = countOff
		r.fail("rows_count", fmt.Errorf("%w: %d rows of %d columns need at least 4 bytes per cell, %d remain",
			ErrTruncated, n, cols, r.remaining()-4))
		return nil
	}
	used, bad, ok := skipCells(r.buf[r.off:], int(cells))
	if !ok {
		r.off += used
		r.fail("rows_content", fmt.Errorf("%w: row %d column %d: cell does not fit in the body", ErrTruncated, bad/cols, bad%cols))
		return nil
	}
	m.RowCount = int(n)
	m.Content = r.raw("rows_content", used)
	return m
}

// RowIterator walks the rows of a Rows result. The zero value has no rows.
type RowIterator struct {
	content []byte
	off     int
	left    int // rows not yet returned
	cols    int
	err     error
}

// Iter returns an iterator over the rows, from the first.
func (m *Rows) Iter() RowIterator {
	return RowIterator{content: m.Content, left: m.RowCount, cols: m.Metadata.columnCount()}
}

// Next returns the cells of the next row, in the storage of cells when its
// capacity suffices: one entry per column, the cell's bytes (aliasing the
// body, capacity-limited so that appending to one cannot overwrite the next)
// or nil for a null cell. Pass the slice returned by the previous call (or
// one made with capacity for the column count) and no call allocates. ok is
// false after the last row.
func (it *RowIterator) Next(cells [][]byte) (_ [][]byte, ok bool) {
	if it.left <= 0 || it.err != nil {
		return cells[:0], false
	}
	b, off := it.content, it.off
	// Every cell takes at least 4 bytes: this bounds the slice below by
	// the content, whatever the column count says.
	if it.cols > (len(b)-off)/4 {
		it.fail()
		return cells[:0], false
	}
	if cap(cells) < it.cols {
		cells = make([][]byte, it.cols)
	}
	cells = cells[:it.cols]
	for i := range cells {
		if len(b)-off < 4 {
			it.fail()
			return cells[:0], false
		}
		n := int32(binary.BigEndian.Uint32(b[off:]))
		off += 4
		if n < 0 {
			cells[i] = nil
			continue
		}
		end := off + int(n)
		if end > len(b) || end < off {
			it.fail()
			return cells[:0], false
		}
		cells[i] = b[off:end:end]
		off = end
	}
	it.off = off
	it.left--
	return cells, true
}

func (it *RowIterator) fail() {
	it.err = fmt.Errorf("frame: rows content ends early, %d rows not read", it.left)
	it.left = 0
}

// Err reports rows content that ended early. It is always nil for decoded
// rows (the decoder checked them); it can only happen when Content or
// RowCount were changed by hand.
func (it *RowIterator) Err() error { return it.err }

// Remaining is the number of rows Next has not returned yet.
func (it *RowIterator) Remaining() int { return it.left }

// All returns an iterator over (row index, cells) pairs. The cells slice is
// reused from row to row: copy it (not the cell bytes, which alias the body)
// to keep it past one iteration. Content that ends early stops the iteration
// (see RowIterator.Err).
func (m *Rows) All() iter.Seq2[int, [][]byte] {
	return func(yield func(int, [][]byte) bool) {
		it := m.Iter()
		if it.left <= 0 {
			return
		}
		// A cell takes at least 4 bytes, so never allocate for more than fit.
		cells := make([][]byte, 0, min(it.cols, len(it.content)/4))
		for i := 0; ; i++ {
			var ok bool
			if cells, ok = it.Next(cells); !ok {
				return
			}
			if !yield(i, cells) {
				return
			}
		}
	}
}

// rowsDescription is what Describe shows for Rows: the cells of each row
// instead of the raw content.
type rowsDescription struct {
	Metadata RowsMetadata
	RowCount int
	Rows     [][][]byte
}

// noColumnsDescription is shown for rows without columns: there are no
// cells to show, and listing rows_count empty rows (up to 2^31 of them,
// from a few bytes of input) would not be safe.
type noColumnsDescription struct {
	Metadata RowsMetadata
	RowCount int
}

// invalidRowsDescription is shown for rows whose content does not match.
type invalidRowsDescription struct {
	Metadata RowsMetadata
	RowCount int
	Content  []byte
	Error    string
}

// Describe shows the metadata and, for each row, each cell in hex ("null"
// for a null cell).
func (m *Rows) Describe() any {
	if m.RowCount > 0 && m.Metadata.columnCount() == 0 {
		if len(m.Content) != 0 {
			return invalidRowsDescription{Metadata: m.Metadata, RowCount: m.RowCount, Content: m.Content,
				Error: "frame: rows content for rows without columns"}
		}
		return noColumnsDescription{Metadata: m.Metadata, RowCount: m.RowCount}
	}
	d := rowsDescription{Metadata: m.Metadata, RowCount: m.RowCount, Rows: [][][]byte{}}
	it := m.Iter()
	for {
		cells, ok := it.Next(nil)
		if !ok {
			break
		}
		d.Rows = append(d.Rows, cells)
	}
	if err := it.Err(); err != nil {
		return invalidRowsDescription{Metadata: m.Metadata, RowCount: m.RowCount, Content: m.Content, Error: err.Error()}
	}
	return d
}
