package cqlbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/tools/cqlbench/answering"
	"github.com/cqlwire/cqlwire/tools/cqlbench/workload"
)

// Shape is what every target of a run shares, whatever the server.
type Shape struct {
	Versions     []frame.Version
	Compressions []string // "" for none, "lz4"
	Conns        int
	PageSize     int
	Timeout      time.Duration
}

func (s Shape) targets(server string, hosts []string, port int, user, password string) []Target {
	var out []Target
	for _, v := range s.Versions {
		for _, comp := range s.Compressions {
			out = append(out, Target{
				Server: server, Hosts: hosts, Port: port, Version: v, Compression: comp,
				Username: user, Password: password,
				Conns: s.Conns, PageSize: s.PageSize, Timeout: s.Timeout,
			})
		}
	}
	return out
}

// AnsweringServer is the answering server as a source of targets. With
// inProcess false the server runs in a child process (see
// answering.Spawn: the program must call answering.ServeIfChild first
// thing), so that it costs the measured process nothing; with inProcess
// true it runs in this process (tests).
func AnsweringServer(shape Shape, inProcess bool) TargetSource {
	return TargetSource{Server: "answering", Open: func(ctx context.Context) ([]Target, func(), string, error) {
		var addr string
		var release func()
		if inProcess {
			srv, err := answering.Start(answering.Options{})
			if err != nil {
				return nil, nil, "", err
			}
			addr, release = srv.Addr(), func() { srv.Close() }
		} else {
			child, err := answering.Spawn(ctx)
			if err != nil {
				return nil, nil, "", err
			}
			addr, release = child.Addr(), func() { child.Close() }
		}
		host, port, err := splitHostPort(addr)
		if err != nil {
			release()
			return nil, nil, "", err
		}
		return shape.targets("answering", []string{host}, port, "", ""), release, "", nil
	}}
}

// VectorInsertLimit is the highest concurrency of vector-insert on a real
// node unless told otherwise: Cassandra 5.0 releases without the fix of
// CASSANDRA-21644 fail concurrent inserts into a vector index beyond
// jvector's per-graph pool (the node's cores + 1, so 3 on two cores) with
// Write_failure.
const VectorInsertLimit = 2

const vectorInsertWhy = "concurrent vector-index inserts beyond jvector's per-graph pool (the node's cores + 1) " +
	"fail with Write_failure on Cassandra 5.0 releases without the fix of CASSANDRA-21644"

// RealNode is the Cassandra node of internal/testenv (CQLWIRE_HOSTS, or
// the devcluster's env.mk) as a source of targets: its keyspace and tables
// are created and seeded first (SetUpRealNode). When no node is configured
// or reachable it is skipped, or with required set, an error.
// vectorInsertLimit caps the concurrency of vector-insert (see
// VectorInsertLimit; 0: no cap).
func RealNode(shape Shape, required bool, vectorInsertLimit int, log func(format string, args ...any)) TargetSource {
	return TargetSource{Server: "real", Open: func(ctx context.Context) ([]Target, func(), string, error) {
		env, err := testenv.Lookup()
		why := ""
		switch {
		case errors.Is(err, testenv.ErrNotConfigured):
			why = "no Cassandra node configured (CQLWIRE_HOSTS is not set and no devcluster env.mk was found; `make cassandra` starts one)"
		case err != nil:
			return nil, nil, "", err
		default:
			why = reachable(ctx, env.Addrs())
		}
		if why != "" {
			if required {
				return nil, nil, "", errors.New(why)
			}
			return nil, nil, why, nil
		}
		hosts, err := resolveHosts(ctx, env.Hosts)
		if err != nil {
			return nil, nil, "", err
		}
		targets := shape.targets("real", hosts, env.Port, env.Username, env.Password)
		if vectorInsertLimit > 0 {
			for i := range targets {
				targets[i].MaxConcurrency = map[workload.Kind]int{workload.VectorInsert: vectorInsertLimit}
				targets[i].MaxConcurrencyWhy = map[workload.Kind]string{workload.VectorInsert: vectorInsertWhy}
			}
		}
		if err := SetUpRealNode(ctx, targets[0], log); err != nil {
			return nil, nil, "", fmt.Errorf("setting up keyspace cqlbench: %w", err)
		}
		return targets, func() {}, "", nil
	}}
}

// reachable returns "" when one of addrs accepts a TCP connection, else why
// not.
func reachable(ctx context.Context, addrs []string) string {
	var d net.Dialer
	var failures []error
	for _, addr := range addrs {
		dctx, cancel := context.WithTimeout(ctx, testenv.DialTimeout)
		c, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			c.Close()
			return ""
		}
		failures = append(failures, err)
	}
	return fmt.Sprintf("no Cassandra node reachable (%v)", errors.Join(failures...))
}

// resolveHosts turns host names into IP addresses, which gocql's host
// matching needs.
func resolveHosts(ctx context.Context, hosts []string) ([]string, error) {
	var out []string
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			out = append(out, h)
			continue
		}
		addrs, err := net.DefaultResolver.LookupHost(ctx, h)
		if err != nil || len(addrs) == 0 {
			return nil, fmt.Errorf("resolving %s: %v", h, err)
		}
		out = append(out, addrs[0])
	}
	return out, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	var port int
	if _, err := fmt.Sscan(portStr, &port); err != nil {
		return "", 0, fmt.Errorf("port of %s: %w", addr, err)
	}
	return host, port, nil
}
