package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/pool"
)

func TestRealSingleNode(t *testing.T) {
	env := testenv.Require(t)
	ccfg := &conn.Config{Authenticator: auth.Plain{Username: env.Username, Password: auth.Secret(env.Password)},
		Timeout: 60 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	w, err := StartWatcher(ctx, WatcherConfig{ContactPoints: env.Addrs()[:1], Conn: ccfg, EventDebounce: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	// The node itself, as it describes itself.
	ddl, err := conn.Dial(ctx, env.Addrs()[0], ccfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ddl.Close()
	lt, err := selectRows(ctx, ddl, queryLocal)
	if err != nil {
		t.Fatal(err)
	}
	want, err := lt.node(lt.rows[0])
	if err != nil {
		t.Fatal(err)
	}
	hosts := w.Hosts()
	if len(hosts) != 1 {
		t.Fatalf("%d hosts, want 1: %+v", len(hosts), hosts)
	}
	h := hosts[0]
	if h.Host.ID != want.id || h.Host.Datacenter != want.dc || h.Host.Rack != want.rack ||
		len(h.Tokens) != len(want.tokens) || len(h.Tokens) == 0 || !h.Control {
		t.Errorf("host %v %s/%s %d tokens, want %v %s/%s %d tokens", h.Host.ID, h.Host.Datacenter, h.Host.Rack,
			len(h.Tokens), want.id, want.dc, want.rack, len(want.tokens))
	}
	if env.DC != "" && h.Host.Datacenter != env.DC {
		t.Errorf("data centre %q, env says %q", h.Host.Datacenter, env.DC)
	}
	snap := w.Snapshot()
	if snap == nil || snap.Ring().Len() != len(want.tokens) {
		t.Fatalf("snapshot %v", snap)
	}
	for _, v := range []int64{-1 << 63, -42, 0, 7, 1<<63 - 1} {
		if r := snap.Replicas("system_auth", pool.Murmur3(v)); len(r) != 1 || r[0].ID != want.id {
			t.Errorf("replicas of %d: %v", v, r)
		}
	}

	// DDL on another connection: SCHEMA_CHANGE -> debounced refresh.
	ks := fmt.Sprintf("cqlwire_cluster_%d", time.Now().UnixNano()%1e9)
	q := func(s string) {
		if _, err := ddl.Do(ctx, conn.Request{Message: &frame.Query{Query: s, Params: frame.QueryParams{Consistency: frame.One}}}); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	q("CREATE KEYSPACE " + ks + " WITH replication = {'class': 'NetworkTopologyStrategy', '" + want.dc + "': 1}")
	defer q("DROP KEYSPACE IF EXISTS " + ks)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if rep, ok := w.Snapshot().Replication(ks); ok {
			if rep.Strategy != pool.NetworkTopologyStrategy || rep.DCs[want.dc].All != 1 {
				t.Errorf("replication %v", rep)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("new keyspace never appeared in the snapshot")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := w.Snapshot().Replicas(ks, pool.Murmur3(12345)); len(r) != 1 || r[0].ID != want.id {
		t.Errorf("replicas in %s: %v", ks, r)
	}
	actx, acancel := context.WithTimeout(ctx, 30*time.Second)
	defer acancel()
	if err := w.WaitSchemaAgreement(actx); err != nil {
		t.Error(err)
	}
}

// TestRealHostNameContactPoint starts the watcher from a host name: it is
// resolved by the dialer, and the node is then known by the address it
// reports (rpc_address), under its host_id.
func TestRealHostNameContactPoint(t *testing.T) {
	env := testenv.Require(t)
	if env.Hosts[0] != "127.0.0.1" {
		t.Skipf("needs the node on 127.0.0.1 (localhost), have %s", env.Hosts[0])
	}
	ccfg := &conn.Config{Authenticator: auth.Plain{Username: env.Username, Password: auth.Secret(env.Password)},
		Timeout: 60 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w, err := StartWatcher(ctx, WatcherConfig{ContactPoints: []string{fmt.Sprintf("localhost:%d", env.Port)}, Conn: ccfg})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	hosts := w.Hosts()
	if len(hosts) != 1 || !hosts[0].Control {
		t.Fatalf("hosts %+v, want the one node as the control host", hosts)
	}
	if got := hosts[0].Addr.Addr().String(); got != "127.0.0.1" || int(hosts[0].Addr.Port()) != env.Port {
		t.Errorf("node known at %v, want 127.0.0.1:%d (the address it reports)", hosts[0].Addr, env.Port)
	}
}
