package deps

import (
	"bufio"
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cqlwire/cqlwire"

// The only modules the core packages may link. Adding one is a decision
// for every importer of the driver: make it here, and in the README's
// "Compared with gocql" table.
var allowedModules = []string{module, "github.com/golang/snappy", "github.com/pierrec/lz4/v4"}

// Modules that must never come back into the core, whatever the allow-list
// says: Kerberos belongs to auth/kerberos alone.
var forbiddenPrefixes = []string{"github.com/jcmturner/", "golang.org/x/crypto", "golang.org/x/net", "github.com/hashicorp/go-uuid"}

var corePackages = []string{"cluster", "conn", "auth", "pool", "query", "frame", "types"}

// pkg is one package of `go list -deps`.
type pkg struct {
	module  string // "" for the standard library
	imports []string
}

// goTool is the go command of the toolchain that runs the test.
func goTool(t *testing.T) string {
	t.Helper()
	if root := runtime.GOROOT(); root != "" { // what `go test` ran with
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	return p
}

// importGraph runs `go list -deps` on roots (import paths) and returns every
// package reached, by import path.
func importGraph(t *testing.T, roots ...string) map[string]pkg {
	t.Helper()
	cmd := exec.Command(goTool(t), append([]string{"list", "-deps", "-f", "{{.ImportPath}}\t{{with .Module}}{{.Path}}{{end}}\t{{join .Imports \" \"}}"}, roots...)...)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}
	graph := map[string]pkg{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 3 {
			t.Fatalf("go list line %q", sc.Text())
		}
		graph[f[0]] = pkg{module: f[1], imports: strings.Fields(f[2])}
	}
	return graph
}

// chain returns the import path from root to target ("a -> b -> c"), to
// say who brought a module in.
func chain(graph map[string]pkg, root, target string) string {
	prev := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == target {
			var path []string
			for ; p != ""; p = prev[p] {
				path = append(path, p)
			}
			slices.Reverse(path)
			return strings.Join(path, " -> ")
		}
		for _, q := range graph[p].imports {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return target
}

// linked returns, for root, each non-standard module it links and one
// package of it.
func linked(graph map[string]pkg, root string) map[string]string {
	mods := map[string]string{}
	seen := map[string]bool{root: true}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if m := graph[p].module; m != "" {
			if _, ok := mods[m]; !ok {
				mods[m] = p
			}
		}
		for _, q := range graph[p].imports {
			if !seen[q] {
				seen[q] = true
				queue = append(queue, q)
			}
		}
	}
	return mods
}

func forbidden(path string) bool {
	for _, f := range forbiddenPrefixes {
		if path == f || strings.HasPrefix(path, f) {
			return true
		}
	}
	return false
}

func TestCoreLinksNoKerberos(t *testing.T) {
	roots := []string{module + "/auth/kerberos"}
	for _, p := range corePackages {
		roots = append(roots, module+"/"+p)
	}
	graph := importGraph(t, roots...)

	for _, p := range corePackages {
		root := module + "/" + p
		if _, ok := graph[root]; !ok {
			t.Fatalf("go list did not list %s", root)
		}
		mods := linked(graph, root)
		for _, mod := range slices.Sorted(maps.Keys(mods)) {
			via := mods[mod]
			switch {
			case forbidden(mod):
				t.Errorf("%s links %s, which only auth/kerberos may import: %s", p, mod, chain(graph, root, via))
			case !slices.Contains(allowedModules, mod):
				t.Errorf("%s links %s, a module outside %q: %s (a new dependency of every importer: add it to allowedModules deliberately)", p, mod, allowedModules, chain(graph, root, via))
			}
		}
	}

	// The check can see Kerberos where it is: auth/kerberos links gokrb5
	// and golang.org/x/crypto.
	kmods := linked(graph, module+"/auth/kerberos")
	for _, want := range []string{"github.com/jcmturner/gokrb5/v8", "golang.org/x/crypto"} {
		if _, ok := kmods[want]; !ok {
			t.Errorf("auth/kerberos does not link %s: is the module list (go list -deps) read right? got %v", want, kmods)
		}
	}
}
