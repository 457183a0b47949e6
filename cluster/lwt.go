package cluster

import (
	"strings"

	"github.com/cqlwire/cqlwire/frame"
)

// Routing of lightweight transactions.
//
// A conditional statement (INSERT ... IF NOT EXISTS, UPDATE or DELETE ...
// IF EXISTS or IF <conditions>, alone or in a BATCH) runs a Paxos round
// among the partition's replicas, proposed by its coordinator. Two
// coordinators proposing for one partition at once make each other start
// over (contention: retries inside the server, then WriteTimeout of type
// CAS). So such statements, and reads at SERIAL or LOCAL_SERIAL (which
// run Paxos too), are routed with pool.RoutingInfo.PrimaryFirst: the
// replicas in ring order, primary first, the same coordinator for every
// client, instead of the shuffled order that spreads other statements.
//
// Whether a statement is conditional is decided from its text, once per
// prepared statement (preparedEntry.conditional), and for a statement sent
// as text with a routing key (Query.RoutingKey) on each execution.

// primaryFirst reports whether a statement goes to its primary replica
// first: a conditional statement or a serial read.
func primaryFirst(conditional bool, c frame.Consistency) bool {
	return conditional || c.IsSerial()
}

// batchConditional reports whether a batch holds a conditional statement:
// one of its prepared statements, or one sent as text.
func batchConditional(msg *frame.Batch, prepared []*preparedEntry) bool {
	for _, e := range prepared {
		if e.conditional {
			return true
		}
	}
	for i := range msg.Statements {
		if q := msg.Statements[i].Query; q != "" && isConditional(q) {
			return true
		}
	}
	return false
}

// isConditional reports whether cql is a conditional INSERT, UPDATE or
// DELETE, or a BATCH holding one: whether a top-level IF follows the
// VALUES (or JSON) part of an INSERT or the WHERE clause of an UPDATE or
// DELETE. IF is a reserved word of CQL, so an unquoted IF there can only
// start a condition (IF NOT EXISTS, IF EXISTS, IF a = ?). String literals
// ('...', $$...$$), quoted identifiers ("...") and comments (--, //, /* */)
// are skipped, as is anything inside parentheses, brackets or braces.
// Other statements are never conditional: CREATE ... IF NOT EXISTS and
// DROP ... IF EXISTS are schema changes, not lightweight transactions.
// It does not allocate.
func isConditional(cql string) bool {
	l := cqlLexer{s: cql}
	const (
		none = iota
		insert
		update // or delete: the condition follows WHERE
	)
	kind, afterWhere, first, batch := none, false, true, false
	for {
		word, depth, ok := l.next()
		if !ok {
			return false
		}
		if depth > 0 {
			continue
		}
		if word == ";" {
			if !batch {
				return false // a statement after the first is not ours to judge
			}
			kind, afterWhere = none, false
			continue
		}
		if word == "" {
			continue // punctuation, literals
		}
		switch {
		case first && strings.EqualFold(word, "BEGIN"):
			batch = true
		case strings.EqualFold(word, "INSERT"):
			kind, afterWhere = insert, false
		case strings.EqualFold(word, "UPDATE"), strings.EqualFold(word, "DELETE"):
			kind, afterWhere = update, false
		case first:
			return false // SELECT, CREATE, ALTER, DROP, ...
		case kind == insert && (strings.EqualFold(word, "VALUES") || strings.EqualFold(word, "JSON")),
			kind == update && strings.EqualFold(word, "WHERE"):
			afterWhere = true
		case afterWhere && strings.EqualFold(word, "IF"):
			return true
		case batch && strings.EqualFold(word, "APPLY"):
			return false
		}
		first = false
	}
}

// cqlLexer splits CQL into what isConditional needs: words and
// semicolons, each with its nesting depth.
type cqlLexer struct {
	s     string
	i     int
	depth int
}

// next returns the next token: a word ([A-Za-z_][A-Za-z0-9_]*), ";", or ""
// for anything else (a literal, a quoted identifier, a number, other
// punctuation); depth is the number of open parentheses, brackets and
// braces around it. ok is false at the end of the text. An unterminated
// literal or comment runs to the end.
func (l *cqlLexer) next() (tok string, depth int, ok bool) {
	s := l.s
	for l.i < len(s) {
		c := s[l.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			l.i++
		case c == '-' && l.at("--"), c == '/' && l.at("//"):
			if j := strings.IndexByte(s[l.i:], '\n'); j >= 0 {
				l.i += j + 1
			} else {
				l.i = len(s)
			}
		case c == '/' && l.at("/*"):
			if j := strings.Index(s[l.i+2:], "*/"); j >= 0 {
				l.i += 2 + j + 2
			} else {
				l.i = len(s)
			}
		case c == '\'' || c == '"':
			l.skipQuoted(c)
			return "", l.depth, true
		case c == '$' && l.at("$$"):
			if j := strings.Index(s[l.i+2:], "$$"); j >= 0 {
				l.i += 2 + j + 2
			} else {
				l.i = len(s)
			}
			return "", l.depth, true
		case isWordStart(c):
			start := l.i
			for l.i < len(s) && isWordByte(s[l.i]) {
				l.i++
			}
			return s[start:l.i], l.depth, true
		case c >= '0' && c <= '9':
			// A number, a hex blob, a UUID's first group, 1e10: never a
			// keyword, so the letters in it must not make a word.
			for l.i < len(s) && (isWordByte(s[l.i]) || s[l.i] == '.') {
				l.i++
			}
			return "", l.depth, true
		case c == '(' || c == '[' || c == '{':
			l.i++
			l.depth++
			return "", l.depth - 1, true
		case c == ')' || c == ']' || c == '}':
			l.i++
			if l.depth > 0 {
				l.depth--
			}
			return "", l.depth, true
		case c == ';':
			l.i++
			return ";", l.depth, true
		default:
			l.i++
			return "", l.depth, true
		}
	}
	return "", l.depth, false
}

func (l *cqlLexer) at(p string) bool { return strings.HasPrefix(l.s[l.i:], p) }

// skipQuoted skips a literal or quoted identifier opened by q at l.i; a
// doubled q inside is the q character itself.
func (l *cqlLexer) skipQuoted(q byte) {
	s := l.s
	for l.i++; l.i < len(s); l.i++ {
		if s[l.i] != q {
			continue
		}
		if l.i+1 < len(s) && s[l.i+1] == q {
			l.i++
			continue
		}
		l.i++
		return
	}
}

func isWordStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isWordByte(c byte) bool  { return isWordStart(c) || c >= '0' && c <= '9' }
