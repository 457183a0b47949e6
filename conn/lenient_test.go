package conn

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

// withExtra is a response followed by bytes the spec does not describe,
// which clients must ignore (v4 and v5 spec section 4.2).
type withExtra struct{ frame.Message }

func (m withExtra) AppendBody(dst []byte, v frame.Version) ([]byte, error) {
	dst, err := m.Message.AppendBody(dst, v)
	return append(dst, 0xde, 0xad), err
}

// futureEvent is an EVENT of a type no spec defines yet. It says it is a
// STATUS_CHANGE only so that the test server (which, like Cassandra, takes
// REGISTER for known types only) sends it to the connection.
type futureEvent struct{}

func (futureEvent) Opcode() frame.Opcode { return frame.OpEvent }
func (futureEvent) EventType() string    { return frame.EventStatusChange }
func (futureEvent) AppendBody(dst []byte, _ frame.Version) ([]byte, error) {
	return append(dst, 0, 13, 'N', 'O', 'D', 'E', '_', 'E', 'X', 'P', 'L', 'O', 'D', 'E', 'D', 1, 2, 3), nil
}

// TestFakeLenientAnswers: a handshake whose SUPPORTED and READY carry bytes
// after their message and options this driver does not know, a SELECT
// answered by rows with Global_tables_spec and no columns (what made an
// independent answering server unusable), and events of an unknown type or
// change: the connection works throughout. A fake server, since a real node
// sends none of these.
func TestFakeLenientAnswers(t *testing.T) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			srv := startServer(t, testserver.Options{Echo: true, Handler: func(req *testserver.Request) testserver.Reply {
				switch req.Header.Opcode {
				case frame.OpOptions:
					return testserver.Reply{Message: withExtra{&frame.Supported{Options: map[string][]string{
						"CQL_VERSION": {"3.4.7"}, "X_VENDOR_FEATURE": {}, "PROTOCOL_VERSIONS": {"4/v4", "5/v5"}}}}}
				case frame.OpStartup:
					rep := req.Default()
					if _, ok := rep.Message.(*frame.Ready); ok {
						rep.Message = withExtra{rep.Message}
					}
					return rep
				case frame.OpQuery:
					if env, _ := req.Envelope(); env != nil && env.Message.(*frame.Query).Query == "SELECT * FROM ks.unknown" {
						return testserver.Reply{Message: &frame.Rows{Metadata: frame.RowsMetadata{
							Flags: frame.MetaGlobalTablesSpec, TableSpec: frame.TableSpec{Keyspace: "ks", Table: "unknown"}}}}
					}
				}
				return req.Default()
			}})
			events := make(chan frame.Event, 4)
			cfg := fakeConfig(v)
			cfg.Events = events
			c := dialT(t, srv.Addr(), cfg)
			if got := c.Supported()["X_VENDOR_FEATURE"]; got == nil {
				t.Errorf("SUPPORTED options %v", c.Supported())
			}

			env, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "SELECT * FROM ks.unknown"}})
			if err != nil {
				t.Fatal(err)
			}
			rows, ok := env.Message.(*frame.Rows)
			if !ok || rows.RowCount != 0 || len(rows.Metadata.Columns) != 0 || rows.Metadata.TableSpec.Table != "unknown" {
				t.Fatalf("answer %s", frame.DescribeMessage(env.Message))
			}

			if _, err := c.Do(context.Background(), Request{Message: &frame.Register{
				EventTypes: []string{frame.EventStatusChange}}}); err != nil {
				t.Fatal(err)
			}
			addr := netip.MustParseAddrPort("10.0.0.7:9042")
			srv.Broadcast(futureEvent{})
			srv.Broadcast(&frame.StatusChange{Change: "SUSPENDED", Address: addr})
			srv.Broadcast(&frame.StatusChange{Change: frame.StatusDown, Address: addr})
			for _, want := range []frame.StatusChangeType{"SUSPENDED", frame.StatusDown} {
				select {
				case ev := <-events:
					if sc, ok := ev.(*frame.StatusChange); !ok || sc.Change != want {
						t.Fatalf("event %s, want STATUS_CHANGE %s", frame.DescribeMessage(ev), want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("no %s event", want)
				}
			}
			if _, err := c.Do(context.Background(), echoRequest(1)); err != nil || c.Err() != nil {
				t.Fatalf("after the events: %v, connection %v", err, c.Err())
			}
		})
	}
}
