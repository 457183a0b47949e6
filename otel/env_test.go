package cqlotel

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/cluster"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/query"
)

// The node the tests run against comes from the CQLWIRE_* variables that
// `devcluster/cluster.sh env` prints (and `make cassandra` writes to
// .cache/devcluster/env.mk, read here when CQLWIRE_HOSTS is not set), as
// the driver module's internal/testenv reads them: that package cannot be
// imported from this module. Without a node the tests skip, or fail under
// CQLWIRE_REQUIRE_CASSANDRA=1.

// realEnv returns the CQLWIRE_* settings.
func realEnv() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "CQLWIRE_") {
			env[k] = v
		}
	}
	if env["CQLWIRE_HOSTS"] != "" {
		return env
	}
	file := ""
	if dir := env["CQLWIRE_RUN_DIR"]; dir != "" {
		file = filepath.Join(dir, "env.mk")
	} else if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if f := filepath.Join(dir, ".cache", "devcluster", "env.mk"); fileExists(f) {
				file = f
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if f, err := os.Open(file); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
			for _, sep := range []string{"?=", ":=", "="} {
				if k, v, ok := strings.Cut(line, sep); ok {
					k = strings.TrimSpace(k)
					if _, set := env[k]; !set && strings.HasPrefix(k, "CQLWIRE_") {
						env[k] = strings.TrimSpace(v)
					}
					break
				}
			}
		}
	}
	return env
}

func fileExists(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

func required(env map[string]string) bool {
	switch strings.ToLower(strings.TrimSpace(env["CQLWIRE_REQUIRE_CASSANDRA"])) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// realConfig returns a Config for the test node, or skips (fails under
// CQLWIRE_REQUIRE_CASSANDRA=1) when none is configured or reachable.
func realConfig(t *testing.T) (cluster.Config, int) {
	t.Helper()
	env := realEnv()
	stop := t.Skipf
	if required(env) {
		stop = t.Fatalf
	}
	var hosts []string
	for h := range strings.SplitSeq(env["CQLWIRE_HOSTS"], ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		stop("no Cassandra node: CQLWIRE_HOSTS is not set (make cassandra, or eval $(devcluster/cluster.sh env))")
	}
	addr := net.JoinHostPort(hosts[0], or(env["CQLWIRE_PORT"], "9042"))
	if c, err := net.DialTimeout("tcp", addr, 3*time.Second); err != nil {
		stop("no Cassandra node at %s: %v", addr, err)
	} else {
		c.Close()
	}
	cfg := cluster.Config{
		ContactPoints:   []string{addr},
		LocalDatacenter: or(env["CQLWIRE_DC"], "datacenter1"),
		Username:        or(env["CQLWIRE_USERNAME"], "cassandra"),
		Password:        auth.Secret(or(env["CQLWIRE_PASSWORD"], "cassandra")),
		DefaultProfile:  query.Profile{RequestTimeout: 30 * time.Second},
	}
	if strings.EqualFold(env["CQLWIRE_TLS_CLIENT_AUTH"], "true") {
		cfg.TLS = &conn.TLSOptions{CAFile: env["CQLWIRE_TLS_CA"], CertFile: env["CQLWIRE_TLS_CERT"], KeyFile: env["CQLWIRE_TLS_KEY"]}
	}
	return cfg, len(hosts)
}

func connect(t *testing.T, cfg cluster.Config) *cluster.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := cluster.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
