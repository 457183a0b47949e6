package types

import (
	"errors"
	"fmt"
)

// scanner is the lexing shared by the two type-name parsers (Java marshal
// class names and CQL type names); each supplies how its errors look.
type scanner struct {
	s      string
	pos    int
	err    error
	newErr func(s string, offset int, err error) error
}

// fail records the first error, at the current offset.
func (p *scanner) fail(err error) {
	if p.err == nil {
		p.err = p.newErr(p.s, p.pos, err)
	}
}

func (p *scanner) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
}

// expect consumes c (after optional spaces) or fails.
func (p *scanner) expect(c byte) bool {
	if p.err != nil {
		return false
	}
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != c {
		p.fail(fmt.Errorf("expected %q", c))
		return false
	}
	p.pos++
	return true
}

// peek reports whether the next non-space byte is c, without consuming it.
func (p *scanner) peek(c byte) bool {
	p.skipSpace()
	return p.pos < len(p.s) && p.s[p.pos] == c
}

// end fails unless only spaces remain.
func (p *scanner) end() {
	if p.err == nil {
		p.skipSpace()
		if p.pos != len(p.s) {
			p.fail(errors.New("unexpected characters after the type"))
		}
	}
}
