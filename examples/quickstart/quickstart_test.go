package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/internal/testenv"
)

// TestQuickstartMatchesPython runs this program and the DataStax Python
// driver's version of the same steps (devcluster/quickstart.py
// --quickstart-output) against the real node, and requires the same output.
// It also checks the answer itself against a local computation, so that both
// being wrong the same way does not pass.
func TestQuickstartMatchesPython(t *testing.T) {
	env := testenv.Require(t)
	root := repoRoot(t)
	python := filepath.Join(root, ".venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		unavailable(t, "no Python virtualenv with the DataStax driver (%v): run make pyenv", err)
	}
	if !env.HasTLS() {
		unavailable(t, "CQLWIRE_TLS_CA is not set: the quickstart connects over TLS (start the node with make cassandra)")
	}

	// The node's settings as the two programs read them, whether testenv
	// found them in the environment or in the devcluster's env.mk.
	vars := os.Environ()
	vars = append(vars,
		"CQLWIRE_HOSTS="+strings.Join(env.Hosts, ","),
		"CQLWIRE_PORT="+strconv.Itoa(env.Port),
		"CQLWIRE_USERNAME="+env.Username,
		"CQLWIRE_PASSWORD="+env.Password,
		"CQLWIRE_TLS_CA="+env.TLSCA,
		"CQLWIRE_TLS_CERT="+env.TLSCert,
		"CQLWIRE_TLS_KEY="+env.TLSKey,
		"CQLWIRE_DC="+env.DC,
	)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "quickstart")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	goOut := runCmd(t, exec.CommandContext(ctx, bin), vars)
	pyOut := runCmd(t, exec.CommandContext(ctx, python, filepath.Join(root, "devcluster", "quickstart.py"), "--quickstart-output"), vars)
	t.Logf("Go quickstart:\n%s", goOut)
	if goOut != pyOut {
		t.Fatalf("outputs differ\n--- Go:\n%s--- Python:\n%s", goOut, pyOut)
	}

	lines := strings.Split(strings.TrimSuffix(goOut, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "release_version: 5.") {
		t.Fatalf("want a release_version line and two rows, got:\n%s", goOut)
	}
	want := nearest(2)
	line := regexp.MustCompile(`^\[(\d)\] "([^"]*)" \(sim: (0\.\d{4})\)$`)
	for i, l := range lines[1:] {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is not [id] \"text\" (sim: 0.xxxx)", l)
		}
		id, _ := strconv.Atoi(m[1])
		sim, _ := strconv.ParseFloat(m[3], 64)
		r := rows[want[i]]
		if id != r.id || m[2] != r.text || math.Abs(sim-similarity(r.vector)) > 0.0001 {
			t.Errorf("row %d: %q, want [%d] %q (sim: %.4f)", i+1, l, r.id, r.text, similarity(r.vector))
		}
	}
}

// queryVector is the vector of annQuery.
var queryVector = []float32{0.15, 0.1, 0.1, 0.35, 0.55}

// similarity is Cassandra's similarity_cosine of v and queryVector: the
// cosine scaled from -1..1 to 0..1.
func similarity(v []float32) float64 {
	var dot, nv, nq float64
	for i := range v {
		dot += float64(v[i]) * float64(queryVector[i])
		nv += float64(v[i]) * float64(v[i])
		nq += float64(queryVector[i]) * float64(queryVector[i])
	}
	return (1 + dot/math.Sqrt(nv*nq)) / 2
}

// nearest returns the indexes in rows of the n rows most similar to queryVector.
func nearest(n int) []int {
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(similarity(rows[b].vector), similarity(rows[a].vector)) })
	return idx[:n]
}

func TestQueryVectorIsAnnQuery(t *testing.T) {
	lit := strings.Trim(strings.ReplaceAll(fmt.Sprint(queryVector), " ", ", "), "[]")
	if strings.Count(annQuery, "["+lit+"]") != 2 {
		t.Fatalf("annQuery does not use [%s] twice:\n%s", lit, annQuery)
	}
}

// runCmd runs cmd with the environment vars and returns its standard output; it
// fails the test, with the standard error, when cmd fails.
func runCmd(t *testing.T, cmd *exec.Cmd, vars []string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Env = vars
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", cmd, err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String()
}

// unavailable skips the test, or fails it when CQLWIRE_REQUIRE_CASSANDRA=1
// (CI), where a missing prerequisite must not pass silently.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if testenv.Required() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// repoRoot returns the directory of the go.mod that holds this package.
func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}
