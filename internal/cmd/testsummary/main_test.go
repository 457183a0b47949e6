package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	s := newSummary()
	for _, e := range []event{
		{Action: "run", Package: "p", Test: "TestA"},
		{Action: "pass", Package: "p", Test: "TestA"},
		{Action: "run", Package: "p", Test: "TestB"},
		{Action: "output", Package: "p", Test: "TestB", Output: "    testenv.go:280: no Cassandra node: start one with make cassandra (CQLWIRE_HOSTS unset)\n"},
		{Action: "skip", Package: "p", Test: "TestB"},
		{Action: "output", Package: "q", Test: "TestC", Output: "    c_test.go:9: no Cassandra node: start one with make cassandra (other detail)\n"},
		{Action: "skip", Package: "q", Test: "TestC"},
		{Action: "output", Package: "q", Test: "TestD", Output: "    d_test.go:3: boom\n"},
		{Action: "fail", Package: "q", Test: "TestD"},
		{Action: "fail", Package: "q"},
	} {
		s.add(e)
	}
	var out bytes.Buffer
	if s.report(&out) {
		t.Error("a failed test reported as success")
	}
	got := out.String()
	for _, want := range []string{"tests: 1 passed, 1 failed, 2 skipped (2: no Cassandra node: start one with make cassandra)", "d_test.go:3: boom"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

func TestSummaryNothingPassed(t *testing.T) {
	var out bytes.Buffer
	if newSummary().report(&out) {
		t.Error("no tests at all reported as success")
	}
}
