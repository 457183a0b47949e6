// Command testsummary reads `go test -json` streams (of several modules, one
// after the other) on stdin, prints the output of every failed test and
// package, and ends with one line: how many tests passed, failed and
// skipped, the skips grouped by their reason. It exits 1 when anything
// failed, or when the input holds no test at all. `make test` pipes every
// module's tests through it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output and build-fail events
}

type key struct{ pkg, test string }

type summary struct {
	output    map[key][]string
	build     map[string][]string // build output per import path
	passed    int
	failed    []key
	failedPkg []string
	skipped   map[string]int // reason -> count
	skips     int
	malformed int
}

func newSummary() *summary {
	return &summary{output: map[key][]string{}, build: map[string][]string{}, skipped: map[string]int{}}
}

// located matches the "file_test.go:12: " prefix of a t.Log/t.Skip line.
var located = regexp.MustCompile(`^\s*[\w./-]+\.go:\d+: `)

// skipReason is a skipped test's reason: its last logged line, without the
// file position, cut at a sentence's end so that tests skipped for one
// reason (with different details) group together.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if !located.MatchString(l) {
			continue
		}
		r := strings.TrimSpace(located.ReplaceAllString(l, ""))
		if j := strings.IndexAny(r[min(20, len(r)):], "(;"); j >= 0 {
			r = strings.TrimSpace(r[:20+j])
		}
		if len(r) > 90 {
			r = r[:87] + "..."
		}
		return r
	}
	return "no reason given"
}

func (s *summary) add(e event) {
	switch e.Action {
	case "build-output":
		s.build[e.ImportPath] = append(s.build[e.ImportPath], e.Output)
		return
	case "build-fail":
		s.failedPkg = append(s.failedPkg, e.ImportPath)
		return
	}
	k := key{e.Package, e.Test}
	switch e.Action {
	case "output":
		s.output[k] = append(s.output[k], strings.TrimRight(e.Output, "\n"))
	case "pass":
		if e.Test != "" {
			s.passed++
		}
		delete(s.output, k)
	case "skip":
		if e.Test != "" {
			s.skips++
			s.skipped[skipReason(s.output[k])]++
		}
		delete(s.output, k)
	case "fail":
		switch {
		case e.Test != "":
			s.failed = append(s.failed, k)
		case !s.hasFailedTest(e.Package):
			// Failed without a failing test: a build error, a panic
			// outside tests, TestMain.
			s.failedPkg = append(s.failedPkg, e.Package)
		}
	}
}

func (s *summary) hasFailedTest(pkg string) bool {
	for _, k := range s.failed {
		if k.pkg == pkg {
			return true
		}
	}
	return false
}

func (s *summary) report(w io.Writer) bool {
	for _, k := range s.failed {
		fmt.Fprintf(w, "\n--- FAIL: %s %s\n", k.pkg, k.test)
		for _, l := range s.output[k] {
			fmt.Fprintln(w, l)
		}
	}
	for _, p := range s.failedPkg {
		lines := s.output[key{p, ""}]
		if b := s.build[p]; len(b) > 0 {
			lines = append(strings.Split(strings.TrimRight(strings.Join(b, ""), "\n"), "\n"), lines...)
		}
		fmt.Fprintf(w, "\n--- FAIL: package %s\n", p)
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	}
	var groups []string
	for r, n := range s.skipped {
		groups = append(groups, fmt.Sprintf("%d: %s", n, r))
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i] > groups[j] })
	line := fmt.Sprintf("tests: %d passed, %d failed, %d skipped", s.passed, len(s.failed)+len(s.failedPkg), s.skips)
	if len(groups) > 0 {
		line += " (" + strings.Join(groups, "; ") + ")"
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, line)
	ok := len(s.failed) == 0 && len(s.failedPkg) == 0 && s.passed > 0
	if s.passed == 0 {
		fmt.Fprintln(w, "testsummary: no test passed: was the input `go test -json` output?")
	}
	return ok
}

func main() {
	s := newSummary()
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event (a go command error printed before the stream):
			// show it, it explains a failure.
			fmt.Fprintln(os.Stderr, string(line))
			s.malformed++
			continue
		}
		s.add(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	if !s.report(os.Stdout) {
		os.Exit(1)
	}
}
