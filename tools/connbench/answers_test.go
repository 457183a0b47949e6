package connbench

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
)

// TestAnswers checks the benchmark's setup on the answering server, for
// each protocol version and driver: every request gets the right answer;
// the EXECUTEs all reach the server, and on a single connection; gocql opens
// exactly two connections (its control connection, which only carries its
// startup queries, and the one connection of its pool); and both drivers
// send the same EXECUTE, byte for byte.
func TestAnswers(t *testing.T) {
	const goroutines, perGoroutine = 16, 50
	for _, v := range []frame.Version{frame.V4, frame.V5} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			executes := map[string][]byte{}
			for _, d := range drivers {
				t.Run(d.name, func(t *testing.T) {
					rec := newRecorder()
					srv := startAnswering(t, v, rec)
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					cl, err := d.dial(ctx, answeringTarget(srv.Addr(), v))
					if err != nil {
						t.Fatalf("dial: %v", err)
					}
					defer cl.Close()

					// Requests sent before the run (PREPARE, gocql's first
					// execution) and during it.
					before := executeCount(rec)
					reqsBefore := srv.Stats().Requests
					errs := make(chan error, goroutines)
					var wg sync.WaitGroup
					for range goroutines {
						wg.Go(func() {
							do := cl.worker()
							for range perGoroutine {
								if err := do(ctx); err != nil {
									errs <- err
									return
								}
							}
						})
					}
					wg.Wait()
					close(errs)
					for err := range errs {
						t.Fatal(err)
					}
					const total = goroutines * perGoroutine
					if got := executeCount(rec) - before; got != total {
						t.Errorf("the server received %d EXECUTEs during the run, want %d", got, total)
					}
					if got := srv.Stats().Requests - reqsBefore; got != total {
						t.Errorf("the server received %d requests during the run, want %d (only the EXECUTEs)", got, total)
					}

					execConns := rec.conns(frame.OpExecute)
					if len(execConns) != 1 {
						t.Fatalf("EXECUTEs arrived on connections %v, want one", execConns)
					}
					st := srv.Stats()
					wantConns := int64(1)
					if d.name != "cqlwire-conn" {
						wantConns = 2 // the control connection and the pool's one
					}
					if st.Accepted != wantConns {
						t.Errorf("%d connections accepted, want %d", st.Accepted, wantConns)
					}
					for id := int64(1); id <= st.Accepted; id++ {
						if id == execConns[0] {
							continue
						}
						if n := rec.count(id, frame.OpExecute) + rec.count(id, frame.OpPrepare); n != 0 {
							t.Errorf("connection %d carried %d PREPARE/EXECUTE requests", id, n)
						}
					}
					rec.mu.Lock()
					t.Logf("%d connections; EXECUTEs on connection %d; QUERYs (control connection): %q",
						st.Accepted, execConns[0], rec.queries)
					executes[d.name] = rec.executes[execConns[0]]
					rec.mu.Unlock()
				})
			}
			ref := executes["cqlwire-conn"]
			if ref == nil {
				return
			}
			t.Logf("EXECUTE body: %x", ref)
			for name, body := range executes {
				if body != nil && !bytes.Equal(body, ref) {
					t.Errorf("%s sends the EXECUTE body %x, cqlwire-conn %x", name, body, ref)
				}
			}
		})
	}
}

func executeCount(rec *recorder) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for _, m := range rec.opcodes {
		n += m[frame.OpExecute]
	}
	return n
}
