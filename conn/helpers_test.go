package conn

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/types"
)

// plainAuth is the real PLAIN mechanism of package auth, with a count of
// the exchanges started (to check that a failed login is not retried).
type plainAuth struct {
	user, password string
	starts         *int // counts Start calls when not nil
}

func (p plainAuth) Start(ctx context.Context, server auth.ServerInfo) (auth.Exchange, []byte, error) {
	if p.starts != nil {
		*p.starts++
	}
	return (&auth.Plain{Username: p.user, Password: auth.Secret(p.password)}).Start(ctx, server)
}

// realConfig is a Config for the real node: its credentials, a short dial
// timeout and test logging.
func realConfig(t testing.TB, env testenv.Env) *Config {
	return &Config{
		Authenticator: plainAuth{user: env.Username, password: env.Password},
		DialTimeout:   10 * time.Second,
		// Schema changes on a loaded test machine can take a while.
		Timeout: 60 * time.Second,
	}
}

func dialT(t testing.TB, addr string, cfg *Config) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, cfg)
	if err != nil {
		t.Fatalf("Dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echoQuery is a request whose answer holds its own input: the server turns
// the bound 4-byte blob back into the int n.
const echoCQL = "SELECT blobAsInt(?) FROM system.local"

func echoRequest(n int32) Request {
	return Request{Message: &frame.Query{Query: echoCQL, Params: frame.QueryParams{
		Consistency: frame.One, Values: []frame.Value{{Bytes: binary.BigEndian.AppendUint32(nil, uint32(n))}}}}}
}

// echoed returns the int of the only cell of a rows answer.
func echoed(env *frame.Envelope) (int32, error) {
	rows, ok := env.Message.(*frame.Rows)
	if !ok {
		return 0, fmt.Errorf("answer is %s, want rows", frame.DescribeMessage(env.Message))
	}
	it := rows.Iter()
	cells, ok := it.Next(nil)
	if !ok || rows.RowCount != 1 || len(cells) != 1 {
		return 0, fmt.Errorf("want one row of one cell, got %d rows (%v)", rows.RowCount, it.Err())
	}
	var v int32
	if err := types.Decode(types.Native(types.Int), cells[0], &v); err != nil {
		return 0, err
	}
	return v, nil
}

// goroutineCheck returns a function that fails t if more goroutines are
// running than when it was called, after giving them time to end.
func goroutineCheck(t testing.TB) func() {
	before := runtime.NumGoroutine()
	return func() {
		t.Helper()
		var after int
		for range 200 {
			after = runtime.NumGoroutine()
			if after <= before {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Errorf("goroutines: %d before, %d after\n%s", before, after, stacksOf(string(buf[:n])))
	}
}

// stacksOf keeps the stacks that mention this package.
func stacksOf(all string) string {
	var out []string
	for _, g := range strings.Split(all, "\n\n") {
		if strings.Contains(g, "cqlwire/conn") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
