package cqlbench

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/tools/cqlbench/workload"
)

// Target is a server and the way every driver talks to it in one part of a
// run: the protocol version, the compression and the number of connections
// are the same for all drivers.
type Target struct {
	// Server is "answering" or "real", as shown in the results.
	Server string
	// Hosts are the node addresses (IP addresses: gocql matches hosts by
	// address); Port their native protocol port.
	Hosts []string
	Port  int
	// Version is the protocol version, fixed (no negotiation).
	Version frame.Version
	// Compression is "" or "lz4".
	Compression string
	// Username and Password log in with PasswordAuthenticator; empty: the
	// server asks for no authentication.
	Username, Password string
	// Conns is the number of connections each driver opens to each host.
	Conns int
	// PageSize is the page size of the paged workload.
	PageSize int
	// Timeout bounds one request of any driver.
	Timeout time.Duration
	// MaxConcurrency limits the concurrency of some workloads on this
	// server (what the server cannot take), with the reason in
	// MaxConcurrencyWhy.
	MaxConcurrency    map[workload.Kind]int
	MaxConcurrencyWhy map[workload.Kind]string
}

// Addr returns host:port of the first host.
func (t *Target) Addr() string { return net.JoinHostPort(t.Hosts[0], strconv.Itoa(t.Port)) }

// CompressionName is the compression as shown in the results: "none" or
// "lz4".
func (t *Target) CompressionName() string {
	if t.Compression == "" {
		return "none"
	}
	return t.Compression
}

// Op performs one operation of a workload and checks its answer: an error
// means the request failed or the answer was not the expected one.
type Op func(ctx context.Context) error

// Client is one driver connected to one Target.
type Client interface {
	// Worker returns the operation of worker id (from 0) for one of the
	// base workloads (every workload but Mixed, which the runner composes
	// from Select and Insert10). Each worker calls its Op from one
	// goroutine, one operation after the other; the Op keeps its own
	// buffers and counts its own operations, which choose its keys.
	Worker(kind workload.Kind, id int) (Op, error)
	// Close releases the connections.
	Close() error
}

// Driver opens clients.
type Driver interface {
	// Name names the driver in flags and results.
	Name() string
	// Open connects to t and prepares every statement of package workload.
	Open(ctx context.Context, t Target) (Client, error)
}

// Baseline is the driver every ratio divides by.
const Baseline = "gocql"

// Drivers lists the drivers a run can use, by name.
var Drivers = []Driver{
	cqlwireDriver{},
	cqlwireConnDriver{},
	gocqlDriver{name: "gocql", coalesce: true},
	gocqlDriver{name: "gocql-nocoalesce", coalesce: false},
	rawDriver{},
}

// DriverByName returns the driver with that name.
func DriverByName(name string) (Driver, error) {
	var names []string
	for _, d := range Drivers {
		if d.Name() == name {
			return d, nil
		}
		names = append(names, d.Name())
	}
	return nil, fmt.Errorf("unknown driver %q (known: %s)", name, strings.Join(names, ", "))
}

// mixedWorker interleaves a Select and an Insert10 worker, one insert in
// five operations.
func mixedWorker(sel, ins Op) Op {
	var i uint64
	return func(ctx context.Context) error {
		write := workload.MixedIsWrite(i)
		i++
		if write {
			return ins(ctx)
		}
		return sel(ctx)
	}
}

// workerFor returns the Op of worker id of kind, composing Mixed.
func workerFor(c Client, kind workload.Kind, id int) (Op, error) {
	if kind != workload.Mixed {
		return c.Worker(kind, id)
	}
	sel, err := c.Worker(workload.Select, id)
	if err != nil {
		return nil, err
	}
	ins, err := c.Worker(workload.Insert10, id)
	if err != nil {
		return nil, err
	}
	return mixedWorker(sel, ins), nil
}

// statementOf returns the statement a base workload executes.
func statementOf(kind workload.Kind) (*workload.Statement, error) {
	switch kind {
	case workload.Select:
		return &workload.SelectStmt, nil
	case workload.Insert10:
		return &workload.Insert10Stmt, nil
	case workload.VectorInsert:
		return &workload.VectorInsertStmt, nil
	case workload.VectorANN:
		return &workload.VectorANNStmt, nil
	case workload.Paged:
		return &workload.PagedStmt, nil
	}
	return nil, fmt.Errorf("no statement for workload %q", kind)
}

// wrongAnswer reports an answer that is not the expected one.
func wrongAnswer(kind workload.Kind, format string, args ...any) error {
	return fmt.Errorf("%s: wrong answer: %s", kind, fmt.Sprintf(format, args...))
}
