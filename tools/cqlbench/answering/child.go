package answering

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// childEnv, set in a child's environment, makes ServeIfChild serve.
const childEnv = "CQLBENCH_ANSWERING_CHILD"

// listenPrefix starts the line a child prints once it listens.
const listenPrefix = "cqlbench answering server listening on "

// ServeIfChild turns the process into an answering server when it was
// started by Spawn, and does nothing otherwise. Call it first thing in main
// (and in TestMain of tests that Spawn): the child serves until its
// standard input closes, which happens when the parent calls Child.Close or
// dies, then exits.
func ServeIfChild() {
	if os.Getenv(childEnv) != "1" {
		return
	}
	srv, err := Start(Options{Logf: func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "answering server: "+format+"\n", args...)
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "answering server:", err)
		os.Exit(1)
	}
	fmt.Printf("%s%s\n", listenPrefix, srv.Addr())
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	srv.Close()
	os.Exit(0)
}

// Child is an answering server running in a child process.
type Child struct {
	addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan error

	closeOnce sync.Once
	closeErr  error
}

// Spawn starts an answering server in a child process: this executable
// again, which must call ServeIfChild before anything else. The child's
// CPU time and allocations are its own, so the parent's getrusage and
// runtime.MemStats measure the driver alone.
func Spawn(ctx context.Context) (*Child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("answering server: cannot find this executable to run it again: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("answering server: %w", err)
	}
	c := &Child{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), listenPrefix); ok {
				lines <- addr
				break
			}
		}
		io.Copy(io.Discard, stdout)
		close(lines)
	}()
	go func() { c.done <- cmd.Wait() }()
	select {
	case addr, ok := <-lines:
		if ok {
			c.addr = addr
			return c, nil
		}
		err = errors.New("answering server: the child process ended before listening")
	case <-ctx.Done():
		err = fmt.Errorf("answering server: waiting for the child process: %w", ctx.Err())
	}
	c.Close()
	return nil, err
}

// Addr is the address the child listens on, host:port.
func (c *Child) Addr() string { return c.addr }

// Pid is the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Close stops the child: it closes the child's standard input, which makes
// it exit, and kills it if it has not within 5 seconds.
// Calling it again returns the first call's result.
func (c *Child) Close() error {
	c.closeOnce.Do(func() {
		c.stdin.Close()
		select {
		case c.closeErr = <-c.done:
		case <-time.After(5 * time.Second):
			c.cmd.Process.Kill()
			c.closeErr = <-c.done
		}
	})
	return c.closeErr
}
