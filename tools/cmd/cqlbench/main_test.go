package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/tools/cqlbench/answering"
)

func TestMain(m *testing.M) {
	answering.ServeIfChild() // run spawns this test binary as the answering server
	os.Exit(m.Run())
}

func TestParseShortPresetAndOverrides(t *testing.T) {
	o, err := parse([]string{"-short", "-rounds", "5"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.duration != 150*time.Millisecond || o.rounds != 5 || len(o.versions) != 1 || o.versions[0] != frame.V5 ||
		len(o.concurrency) != 4 || o.pagedMax != 16 || len(o.drivers) != 3 || len(o.workloads) != 6 {
		t.Fatalf("-short -rounds 5 parsed as %+v", o)
	}
	o, err = parse(nil, &bytes.Buffer{})
	if err != nil || o.duration != 2*time.Second || len(o.versions) != 2 || o.server != "both" {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-server", "mars"}, {"-drivers", "odbc"}, {"-drivers", ""}, {"-workloads", "scan"},
		{"-concurrency", "0"}, {"-proto", "3"}, {"-ops", "0", "-duration", "0"}, {"-rounds", "0"}, {"extra"},
	} {
		if _, err := parse(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%q parsed", args)
		}
	}
}

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return strconv.Itoa(port)
}

func TestRunOnTheAnsweringServer(t *testing.T) {
	// -server both with no reachable node: the real node is skipped.
	t.Setenv("CQLWIRE_HOSTS", "127.0.0.1")
	t.Setenv("CQLWIRE_PORT", closedPort(t))
	dir := filepath.Join(t.TempDir(), "results")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-server", "both", "-workloads", "select,paged", "-concurrency", "1,4",
		"-proto", "4", "-lz4", "-ops", "40", "-warmup", "10ms", "-rounds", "2", "-out", dir}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"workload", "xops", "cqlwire", "gocql", "raw", "lz4", "results: "} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr.String(), "real server skipped: no Cassandra node reachable") {
		t.Errorf("stderr does not say the real node was skipped:\n%s", stderr.String())
	}
	for _, name := range []string{"results.csv", "results.md", "select-answering-v4-none.png", "paged-answering-v4-lz4.png"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "results.md"))
	if !strings.Contains(string(md), "go run ./cmd/cqlbench -server both") {
		t.Errorf("results.md lacks the command line:\n%s", md)
	}
}

func TestRealAskedForButUnreachableFails(t *testing.T) {
	t.Setenv("CQLWIRE_HOSTS", "127.0.0.1")
	t.Setenv("CQLWIRE_PORT", closedPort(t))
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-server", "real", "-ops", "10", "-quiet"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "no Cassandra node reachable") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
}
