package types

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// CQLTypeError reports a CQL type name that could not be parsed. Offset is
// the byte offset in Name where parsing stopped.
type CQLTypeError struct {
	Name   string
	Offset int
	Err    error
}

func (e *CQLTypeError) Error() string {
	name := e.Name
	if len(name) > 200 { // keep hostile input out of logs
		name = name[:200] + "..."
	}
	return fmt.Sprintf("types: CQL type %q at offset %d: %v", name, e.Offset, e.Err)
}

func (e *CQLTypeError) Unwrap() error { return e.Err }

// MaxVectorDimension bounds the dimension ParseCQLType accepts.
const MaxVectorDimension = 1 << 24

var kindByCQLName = map[string]Kind{
	"ascii": Ascii, "bigint": Bigint, "blob": Blob, "boolean": Boolean, "counter": Counter,
	"date": Date, "decimal": Decimal, "double": Double, "duration": Duration, "float": Float,
	"inet": Inet, "int": Int, "smallint": Smallint, "text": Varchar, "varchar": Varchar,
	"time": Time, "timestamp": Timestamp, "timeuuid": Timeuuid, "tinyint": Tinyint,
	"uuid": UUID, "varint": Varint,
}

// ParseCQLType parses a CQL type name as the server shows it in
// system_schema (columns.type, types.field_types): the native names,
// list<t>, set<t>, map<k, v>, tuple<t, ...>, vector<t, n>, frozen<t>
// (unwrapped: a Type records no frozenness), a custom type as a quoted class
// name ('org.apache...'), parsed with [ParseClassName], and user type names,
// unquoted (folded to lower case, as CQL does) or double-quoted. A user type
// name is resolved by calling udts, which may be nil or return nil: the
// result is then a UDT with only Name set. Keywords are matched without
// regard to case. Errors are *[CQLTypeError]; nesting is bounded by
// [MaxDepth].
func ParseCQLType(s string, udts func(name string) *Type) (*Type, error) {
	p := cqlParser{scanner: scanner{s: s, newErr: cqlTypeError}, udts: udts}
	t := p.parseType(0)
	p.end()
	if p.err != nil {
		return nil, p.err
	}
	return t, nil
}

type cqlParser struct {
	scanner
	udts func(string) *Type
}

func cqlTypeError(s string, offset int, err error) error {
	return &CQLTypeError{Name: s, Offset: offset, Err: err}
}

func isCQLIdentByte(c byte, first bool) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && (c >= '0' && c <= '9' || c == '_')
}

func (p *cqlParser) ident() string {
	start := p.pos
	for p.pos < len(p.s) && isCQLIdentByte(p.s[p.pos], p.pos == start) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// quoted reads a string delimited by q, where qq stands for one q.
func (p *cqlParser) quoted(q byte) (string, bool) {
	start := p.pos
	p.pos++ // the opening quote
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		if c != q {
			b.WriteByte(c)
			continue
		}
		if p.pos < len(p.s) && p.s[p.pos] == q {
			b.WriteByte(q)
			p.pos++
			continue
		}
		return b.String(), true
	}
	p.pos = start
	p.fail(fmt.Errorf("unterminated %c quote", q))
	return "", false
}

func (p *cqlParser) udt(name string) *Type {
	if p.udts != nil {
		if t := p.udts(name); t != nil {
			return t
		}
	}
	return &Type{Kind: UDT, Name: name}
}

// args parses '<' t1, ..., tn '>' with exactly n types (n < 0: one or more).
func (p *cqlParser) args(name string, n, depth int) []*Type {
	if !p.expect('<') {
		return nil
	}
	var ts []*Type
	for p.err == nil {
		ts = append(ts, p.parseType(depth+1))
		if !p.peek(',') {
			break
		}
		p.pos++
	}
	if p.err != nil {
		return nil
	}
	if n >= 0 && len(ts) != n {
		p.fail(fmt.Errorf("%s takes %d type parameter(s), got %d", name, n, len(ts)))
		return nil
	}
	if !p.expect('>') {
		return nil
	}
	return ts
}

func (p *cqlParser) parseType(depth int) *Type {
	if p.err != nil {
		return nil
	}
	if depth >= MaxDepth {
		p.fail(ErrTooDeep)
		return nil
	}
	p.skipSpace()
	if p.pos >= len(p.s) {
		p.fail(errors.New("expected a type"))
		return nil
	}
	switch p.s[p.pos] {
	case '"':
		name, ok := p.quoted('"')
		if !ok {
			return nil
		}
		if name == "" {
			p.fail(errors.New("empty quoted type name"))
			return nil
		}
		return p.udt(name)
	case '\'':
		start := p.pos
		class, ok := p.quoted('\'')
		if !ok {
			return nil
		}
		t, err := ParseClassName(class)
		if err != nil {
			p.pos = start
			p.fail(err)
			return nil
		}
		return t
	}
	start := p.pos
	name := p.ident()
	if name == "" {
		p.fail(errors.New("expected a type name"))
		return nil
	}
	lower := strings.ToLower(name)
	if k, ok := kindByCQLName[lower]; ok {
		if p.peek('<') {
			p.fail(fmt.Errorf("%s takes no type parameters", lower))
			return nil
		}
		return &Type{Kind: k}
	}
	switch lower {
	case "frozen":
		if ts := p.args(lower, 1, depth); ts != nil {
			return ts[0]
		}
		return nil
	case "list", "set":
		ts := p.args(lower, 1, depth)
		if ts == nil {
			return nil
		}
		if lower == "set" {
			return SetOf(ts[0])
		}
		return ListOf(ts[0])
	case "map":
		if ts := p.args(lower, 2, depth); ts != nil {
			return MapOf(ts[0], ts[1])
		}
		return nil
	case "tuple":
		if ts := p.args(lower, -1, depth); ts != nil {
			return TupleOf(ts...)
		}
		return nil
	case "vector":
		if !p.expect('<') {
			return nil
		}
		elem := p.parseType(depth + 1)
		if !p.expect(',') {
			return nil
		}
		p.skipSpace()
		dstart := p.pos
		for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
			p.pos++
		}
		digits := p.s[dstart:p.pos]
		n, err := strconv.Atoi(digits)
		if err != nil || n <= 0 || n > MaxVectorDimension {
			p.pos = dstart
			p.fail(fmt.Errorf("vector dimension %q is not an integer in 1..%d", digits, MaxVectorDimension))
			return nil
		}
		if !p.expect('>') {
			return nil
		}
		return VectorOf(elem, n)
	}
	if p.peek('<') {
		p.pos = start
		p.fail(fmt.Errorf("unknown parameterised type %q", name))
		return nil
	}
	return p.udt(lower)
}
