package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// program is one of the minimal applications measured.
type program struct {
	name string // as the table shows it
	pkg  string // relative to the tools module
}

var programs = []program{
	{"cqlwire (password)", "./cmd/importcost/cqlwire"},
	{"cqlwire (Kerberos, auth/kerberos)", "./cmd/importcost/kerberos"},
	{"gocql (password)", "./cmd/importcost/gocql"},
}

// measurement is what an importer of one program pays.
type measurement struct {
	program
	modules []string        // "path version", the main module excluded
	size    int64           // stripped binary, bytes
	builds  []time.Duration // cold builds, wall time
	cpu     []time.Duration // cold builds, CPU time (user + system, the compiler and linker included)
}

func main() {
	goCmd := flag.String("go", envOr("GO", "go"), "the go command")
	runs := flag.Int("runs", 3, "cold builds of each program; the table shows the fastest")
	markdown := flag.Bool("md", false, "print the table as Markdown")
	flag.Parse()
	if *runs < 1 {
		fail(fmt.Errorf("-runs %d: need at least 1", *runs))
	}
	dir, err := toolsModuleDir(*goCmd)
	if err != nil {
		fail(err)
	}
	out, err := os.MkdirTemp("", "importcost-bin-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(out)

	goVersion, _ := exec.Command(*goCmd, "env", "GOVERSION").Output()
	results := make([]measurement, len(programs))
	for i, p := range programs {
		results[i].program = p
	}
	// Round by round, each program once a round: a busy machine slows all
	// of them alike. The wall time of a build depends on what else runs;
	// its CPU time much less.
	for round := range *runs {
		for i := range results {
			fmt.Fprintf(os.Stderr, "round %d/%d: building %s\n", round+1, *runs, results[i].pkg)
			if err := build(*goCmd, dir, out, &results[i]); err != nil {
				fail(err)
			}
		}
	}
	report(os.Stdout, results, strings.TrimSpace(string(goVersion)), *runs, *markdown)
}

// build builds m's program once, with an empty build cache, and records
// the time, the size of the binary and the modules it links.
func build(goCmd, dir, out string, m *measurement) error {
	bin := filepath.Join(out, filepath.Base(m.pkg))
	cache, err := os.MkdirTemp("", "importcost-gocache-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cache)
	cmd := exec.Command(goCmd, "build", "-o", bin, "-ldflags=-s -w", m.pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOCACHE="+cache, "GOFLAGS=-mod=mod", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s: %v\n%s", m.pkg, err, stderr.String())
	}
	m.builds = append(m.builds, time.Since(start))
	m.cpu = append(m.cpu, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	fi, err := os.Stat(bin)
	if err != nil {
		return err
	}
	m.size = fi.Size()
	info, err := exec.Command(goCmd, "version", "-m", bin).Output()
	if err != nil {
		return fmt.Errorf("go version -m %s: %v", bin, err)
	}
	m.modules = linkedModules(info)
	return nil
}

// linkedModules reads the dep lines of `go version -m`: the modules
// linked into the binary (a replaced module is shown as required).
func linkedModules(info []byte) []string {
	var mods []string
	sc := bufio.NewScanner(bytes.NewReader(info))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[0] == "dep" {
			mods = append(mods, f[1]+" "+f[2])
		}
	}
	slices.Sort(mods)
	return mods
}

func report(w io.Writer, results []measurement, goVersion string, runs int, markdown bool) {
	header := []string{"program", "modules linked", "stripped binary", fmt.Sprintf("cold build, best of %d", runs), "cold build CPU time, median"}
	var rows [][]string
	for _, m := range results {
		mods := fmt.Sprint(len(m.modules))
		if markdown {
			mods += ": " + shortNames(m.modules)
		}
		rows = append(rows, []string{m.name, mods, fmt.Sprintf("%.1f MB", float64(m.size)/1e6),
			fmt.Sprintf("%.1f s", slices.Min(m.builds).Seconds()), fmt.Sprintf("%.1f s", median(m.cpu).Seconds())})
	}
	if markdown {
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat(" --- |", len(header)))
		for _, r := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		}
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\n%s; GOFLAGS=-mod=mod; an empty GOCACHE for each build (the standard library is compiled too; modules come from the module cache); -ldflags=\"-s -w\".\n", goVersion)
	for _, m := range results {
		var times []string
		for i, d := range m.builds {
			times = append(times, fmt.Sprintf("%.1f s (CPU %.1f s)", d.Seconds(), m.cpu[i].Seconds()))
		}
		fmt.Fprintf(w, "\n%s: %d bytes stripped; cold builds %s; go version -m lists:\n", m.name, m.size, strings.Join(times, ", "))
		for _, mod := range m.modules {
			fmt.Fprintf(w, "  %s\n", mod)
		}
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[len(s)/2]
}

// shortNames lists module paths without versions, the common hosts trimmed.
func shortNames(mods []string) string {
	var names []string
	for _, m := range mods {
		path, _, _ := strings.Cut(m, " ")
		path = strings.TrimPrefix(path, "github.com/")
		names = append(names, path)
	}
	return strings.Join(names, ", ")
}

// toolsModuleDir is the directory of the tools module (this command's).
func toolsModuleDir(goCmd string) (string, error) {
	out, err := exec.Command(goCmd, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run importcost inside the tools module (cd tools), not outside any module")
	}
	dir := filepath.Dir(gomod)
	if _, err := os.Stat(filepath.Join(dir, "cmd", "importcost")); err != nil {
		return "", fmt.Errorf("%s is not the tools module (no cmd/importcost): run it from tools/", dir)
	}
	return dir, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "importcost:", err)
	os.Exit(1)
}
