package cqlotel

import (
	"strings"

	"github.com/cqlwire/cqlwire/query"
)

// describe returns a statement's operation name, and the keyspace and
// table it acts on when known: the table from the prepared statement's
// metadata, else (and the keyspace, when the text qualifies the table)
// from the text of a SELECT, INSERT, UPDATE, DELETE or TRUNCATE. A batch
// is "BATCH", with no table (its statements may use several).
func describe(st *query.Statement) (operation, keyspace, table string) {
	switch st.Kind {
	case query.KindBatch:
		return "BATCH", "", ""
	case query.KindPrepare:
		_, keyspace, table = parseCQL(st.CQL)
		operation = "PREPARE"
	default:
		operation, keyspace, table = parseCQL(st.CQL)
	}
	if st.Table != "" {
		table = st.Table
	}
	return operation, keyspace, table
}

// parseCQL reads the first keyword of a statement and, for the statements
// that name one table, that table (and its keyspace when qualified). It
// is a scan of the first tokens, not a parser: anything it does not
// recognise gives no table.
func parseCQL(cql string) (operation, keyspace, table string) {
	tk := tokenizer{s: cql}
	first := tk.next()
	if !first.word {
		return "", "", ""
	}
	operation = strings.ToUpper(first.text)
	var after string // the keyword the table follows
	switch operation {
	case "SELECT", "DELETE":
		after = "FROM"
	case "INSERT":
		after = "INTO"
	case "UPDATE":
	case "TRUNCATE":
		if t := tk.peek(); t.word && !t.quoted && strings.EqualFold(t.text, "TABLE") {
			tk.next()
		}
	case "BEGIN":
		return "BATCH", "", ""
	default:
		return operation, "", ""
	}
	if after != "" {
		for {
			t := tk.next()
			if t.text == "" {
				return operation, "", ""
			}
			if t.word && !t.quoted && strings.EqualFold(t.text, after) {
				break
			}
		}
	}
	name := tk.next()
	if !name.word {
		return operation, "", ""
	}
	if dot := tk.peek(); dot.text == "." && !dot.word {
		tk.next()
		t := tk.next()
		if !t.word {
			return operation, "", ""
		}
		return operation, name.text, t.text
	}
	return operation, "", name.text
}

// token is a word (an identifier or keyword; quoted: a "quoted
// identifier", unquoted), or one other character; text is empty at the
// end.
type token struct {
	text   string
	word   bool
	quoted bool
}

type tokenizer struct {
	s   string
	pos int
}

func (tk *tokenizer) peek() token {
	save := tk.pos
	t := tk.next()
	tk.pos = save
	return t
}

func (tk *tokenizer) next() token {
	s := tk.s
	for tk.pos < len(s) {
		c := s[tk.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			tk.pos++
		case c == '-' && strings.HasPrefix(s[tk.pos:], "--"), c == '/' && strings.HasPrefix(s[tk.pos:], "//"):
			for tk.pos < len(s) && s[tk.pos] != '\n' {
				tk.pos++
			}
		case c == '/' && strings.HasPrefix(s[tk.pos:], "/*"):
			end := strings.Index(s[tk.pos+2:], "*/")
			if end < 0 {
				tk.pos = len(s)
			} else {
				tk.pos += 2 + end + 2
			}
		case c == '\'':
			// A string literal: skipped, with its doubled quotes.
			tk.pos++
			for tk.pos < len(s) {
				if s[tk.pos] == '\'' {
					if tk.pos+1 < len(s) && s[tk.pos+1] == '\'' {
						tk.pos += 2
						continue
					}
					break
				}
				tk.pos++
			}
			tk.pos++
		case c == '"':
			var b strings.Builder
			tk.pos++
			for tk.pos < len(s) {
				if s[tk.pos] == '"' {
					if tk.pos+1 < len(s) && s[tk.pos+1] == '"' {
						b.WriteByte('"')
						tk.pos += 2
						continue
					}
					break
				}
				b.WriteByte(s[tk.pos])
				tk.pos++
			}
			tk.pos++
			return token{text: b.String(), word: true, quoted: true}
		case isWordByte(c):
			start := tk.pos
			for tk.pos < len(s) && isWordByte(s[tk.pos]) {
				tk.pos++
			}
			return token{text: s[start:tk.pos], word: true}
		default:
			tk.pos++
			return token{text: string(c)}
		}
	}
	return token{}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
