package cqlotel

import (
	"strings"
	"testing"
)

// FuzzParseCQL: any text (statement texts come from the application, and
// a span must never fail it) is scanned without panicking, and a table
// found is a part of the text.
func FuzzParseCQL(f *testing.F) {
	for _, s := range []string{"SELECT a FROM ks.t", `INSERT INTO "K"."T" (a) VALUES ('x''y')`, "UPDATE t SET a=1",
		"DELETE FROM t /* c", "TRUNCATE TABLE", "'", `"`, "--", "BEGIN BATCH"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cql string) {
		_, ks, table := parseCQL(cql)
		for _, name := range []string{ks, table} {
			if name != "" && !strings.Contains(cql, name) && !strings.Contains(cql, strings.ReplaceAll(name, `"`, `""`)) {
				t.Errorf("parseCQL(%q) found %q, not in the text", cql, name)
			}
		}
	})
}
