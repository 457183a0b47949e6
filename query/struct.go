package query

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/types"
)

// ScanStruct fills the exported fields of the struct dst points to from the
// row's columns. A field takes the column named by its `cql:"name"` tag
// (exactly), or else the column whose name, without its underscores,
// equals the field's name without regard to case: column release_version
// fills field ReleaseVersion. `cql:"-"` skips a field. The exported fields
// of embedded structs count as the outer struct's (a nil embedded pointer
// is allocated when one of its fields gets a column); a shallower field
// hides a deeper one of the same name and, at the same depth, the first
// one declared wins. Columns without a field are ignored, and fields
// without a column are left as they are.
//
// Each field is decoded with types.Decode, as Scan does. The field mapping
// of a struct type is computed once, and which field each column goes to
// is remembered for the last column list seen, so scanning the rows of a
// result costs no more than Scan.
func (r *Row) ScanStruct(dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return &ScanError{Index: -1, Err: fmt.Errorf("ScanStruct needs a non-nil pointer to a struct, got %T", dst)}
	}
	if r == nil {
		return &ScanError{Index: -1, Err: errors.New("nil Row")}
	}
	info := structInfoFor(rv.Type().Elem())
	fields := info.resolve(r.cols)
	sv := rv.Elem()
	for i, f := range fields {
		if f < 0 || i >= len(r.cells) {
			continue
		}
		fv := fieldByIndex(sv, info.fields[f].index)
		if !fv.IsValid() {
			continue
		}
		if err := r.decode(i, fv.Addr().Interface()); err != nil {
			var se *ScanError
			if errors.As(err, &se) {
				se.Err = fmt.Errorf("field %s: %w", info.fields[f].path, se.Err)
			}
			return err
		}
	}
	return nil
}

// structInfo is what ScanStruct knows of one struct type.
type structInfo struct {
	fields []structField
	byTag  map[string]int // exact tag -> field
	byName map[string]int // foldName(field name) -> field, untagged fields
	// last is the column -> field resolution of the last column list seen.
	last atomic.Pointer[resolution]
}

type structField struct {
	index []int  // for reflect, through embedded structs
	path  string // e.g. "Base.ID", for errors
}

// resolution gives, for each column of a column list (by name), the field
// it fills, or -1.
type resolution struct {
	names  []string
	fields []int
}

var structCache sync.Map // reflect.Type -> *structInfo

func structInfoFor(rt reflect.Type) *structInfo {
	if c, ok := structCache.Load(rt); ok {
		return c.(*structInfo)
	}
	info := buildStructInfo(rt)
	c, _ := structCache.LoadOrStore(rt, info)
	return c.(*structInfo)
}

// foldName is the form in which field and column names are compared:
// lower case, without underscores.
func foldName(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "_", ""))
}

// resolve maps each column to a field. The answer depends only on the
// column names, so the last one is kept and reused while the names are the
// same: the rows of one result share one column list, whose strings compare
// equal by pointer at once.
func (s *structInfo) resolve(cols []frame.ColumnSpec) []int {
	if last := s.last.Load(); last != nil && len(last.names) == len(cols) {
		same := true
		for i := range cols {
			if cols[i].Name != last.names[i] {
				same = false
				break
			}
		}
		if same {
			return last.fields
		}
	}
	res := &resolution{names: make([]string, len(cols)), fields: make([]int, len(cols))}
	for i := range cols {
		name := cols[i].Name
		res.names[i] = name
		f, ok := s.byTag[name]
		if !ok {
			if f, ok = s.byName[foldName(name)]; !ok {
				f = -1
			}
		}
		res.fields[i] = f
	}
	s.last.Store(res)
	return res.fields
}

// candidate is a field found while flattening a struct.
type candidate struct {
	key    string
	tagged bool
	depth  int
	field  int // in structInfo.fields
}

func buildStructInfo(rt reflect.Type) *structInfo {
	s := &structInfo{byTag: map[string]int{}, byName: map[string]int{}}
	var cands []candidate
	var walk func(t reflect.Type, index []int, path string, depth int, onPath map[reflect.Type]bool)
	walk = func(t reflect.Type, index []int, path string, depth int, onPath map[reflect.Type]bool) {
		if onPath[t] || depth > types.MaxDepth {
			return // embedded types that embed themselves
		}
		onPath[t] = true
		defer delete(onPath, t)
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("cql")
			if c := strings.IndexByte(tag, ','); c >= 0 {
				tag = tag[:c]
			}
			if tag == "-" {
				continue
			}
			idx := append(append([]int(nil), index...), i)
			fpath := f.Name
			if path != "" {
				fpath = path + "." + f.Name
			}
			if f.Anonymous && tag == "" {
				et := f.Type
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
					if !f.IsExported() {
						// A nil pointer to an unexported type cannot be
						// allocated through reflection.
						continue
					}
				}
				if et.Kind() == reflect.Struct {
					walk(et, idx, fpath, depth+1, onPath)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			s.fields = append(s.fields, structField{index: idx, path: fpath})
			c := candidate{tagged: tag != "", depth: depth, field: len(s.fields) - 1}
			if c.tagged {
				c.key = tag
			} else {
				c.key = foldName(f.Name)
			}
			cands = append(cands, c)
		}
	}
	walk(rt, nil, "", 0, map[reflect.Type]bool{})
	// Fields are visited depth-first in declaration order, so the first
	// candidate at the smallest depth is the one that wins.
	depthOf := map[string]int{}
	for _, c := range cands {
		m := s.byName
		if c.tagged {
			m = s.byTag
		}
		key := c.key
		if c.tagged {
			key = "\x00" + key // tags and folded names are separate spaces
		}
		if d, ok := depthOf[key]; ok && d <= c.depth {
			continue
		}
		depthOf[key] = c.depth
		m[c.key] = c.field
	}
	return s
}

// fieldByIndex returns the field at index, allocating nil embedded
// pointers on the way. It returns an invalid Value if one cannot be set.
func fieldByIndex(v reflect.Value, index []int) reflect.Value {
	for k, i := range index {
		if k > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	if !v.CanSet() {
		return reflect.Value{}
	}
	return v
}
