package cluster

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/pool"
	"github.com/cqlwire/cqlwire/types"
)

func TestRealSchemaMetadata(t *testing.T) {
	env := testenv.Require(t)
	ccfg := &conn.Config{Authenticator: auth.Plain{Username: env.Username, Password: auth.Secret(env.Password)},
		Timeout: 60 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	w, err := StartWatcher(ctx, WatcherConfig{ContactPoints: env.Addrs()[:1], Conn: ccfg, EventDebounce: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if s := w.Schema(); s == nil || s.Keyspaces["system_schema"] == nil ||
		s.Keyspaces["system_schema"].Tables["columns"] == nil {
		t.Fatalf("no system_schema.columns in the first schema: %v", s)
	}
	ddl, err := conn.Dial(ctx, env.Addrs()[0], ccfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ddl.Close()
	q := func(s string) {
		t.Helper()
		if _, err := ddl.Do(ctx, conn.Request{Message: &frame.Query{Query: s, Params: frame.QueryParams{Consistency: frame.One}}}); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	// wait polls the published schema until cond holds (bounded).
	wait := func(what string, cond func(*Schema) bool) *Schema {
		t.Helper()
		actx, acancel := context.WithTimeout(ctx, 30*time.Second)
		defer acancel()
		if err := w.WaitSchemaAgreement(actx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			if s := w.Schema(); s != nil && cond(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: never seen in the schema", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	ks := fmt.Sprintf("cqlwire_schema_%d", time.Now().UnixNano()%1e9)
	q("CREATE KEYSPACE " + ks + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	defer q("DROP KEYSPACE IF EXISTS " + ks)
	q("CREATE TYPE " + ks + ".address (street text, zip int)")
	q("CREATE TYPE " + ks + ".person (name text, homes frozen<list<frozen<address>>>)")
	q("CREATE TABLE " + ks + ".t (a int, b text, c bigint, d timestamp, v vector<float, 5>, " +
		"m frozen<map<text, list<int>>>, addr frozen<address>, s text static, " +
		"PRIMARY KEY ((a, b), c, d)) WITH CLUSTERING ORDER BY (c ASC, d DESC)")
	table := func(s *Schema) *TableMetadata {
		if km := s.Keyspaces[ks]; km != nil {
			return km.Tables["t"]
		}
		return nil
	}
	s := wait("table t", func(s *Schema) bool { return table(s) != nil })
	km := s.Keyspaces[ks]
	if km.Name != ks || km.Replication.Strategy != pool.SimpleStrategy {
		t.Errorf("keyspace %s replication %v", km.Name, km.Replication)
	}
	addr := km.Types["address"]
	if addr == nil || addr.Kind != types.UDT || addr.Keyspace != ks || addr.Name != "address" || len(addr.Fields) != 2 ||
		addr.Fields[0].Name != "street" || addr.Fields[0].Type.Kind != types.Varchar ||
		addr.Fields[1].Name != "zip" || addr.Fields[1].Type.Kind != types.Int || len(km.Types) != 2 {
		t.Errorf("types %v, address %+v", km.Types, addr)
	}
	if p := km.Types["person"]; p == nil || len(p.Fields) != 2 || p.Fields[1].Name != "homes" ||
		p.Fields[1].Type.Kind != types.List || p.Fields[1].Type.Elem != addr {
		t.Errorf("person %+v", p)
	}
	if len(km.Tables) != 1 {
		t.Errorf("tables %v", km.Tables)
	}
	tm := table(s)
	if tm.Keyspace != ks || tm.Name != "t" {
		t.Errorf("table %s.%s", tm.Keyspace, tm.Name)
	}
	if want := []string{"a", "b", "c", "d", "addr", "m", "s", "v"}; !slices.Equal(tm.ColumnOrder, want) {
		t.Errorf("column order %v, want %v", tm.ColumnOrder, want)
	}
	names := func(cs []*ColumnMetadata) (r []string) {
		for _, c := range cs {
			r = append(r, c.Name)
		}
		return r
	}
	if got := names(tm.PartitionKey); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("partition key %v", got)
	}
	if got := names(tm.ClusteringColumns); !slices.Equal(got, []string{"c", "d"}) {
		t.Errorf("clustering %v", got)
	}
	want := map[string]ColumnMetadata{
		"a":    {Kind: PartitionKeyColumn, Position: 0, ClusteringOrder: "none"},
		"b":    {Kind: PartitionKeyColumn, Position: 1, ClusteringOrder: "none"},
		"c":    {Kind: ClusteringColumn, Position: 0, ClusteringOrder: "asc"},
		"d":    {Kind: ClusteringColumn, Position: 1, ClusteringOrder: "desc"},
		"v":    {Kind: RegularColumn, Position: -1, ClusteringOrder: "none"},
		"m":    {Kind: RegularColumn, Position: -1, ClusteringOrder: "none"},
		"addr": {Kind: RegularColumn, Position: -1, ClusteringOrder: "none"},
		"s":    {Kind: StaticColumn, Position: -1, ClusteringOrder: "none"},
	}
	wantType := map[string]string{"a": "int", "b": "varchar", "c": "bigint", "d": "timestamp",
		"v": "vector<float, 5>", "m": "map<varchar, list<int>>", "addr": ks + ".address", "s": "varchar"}
	if len(tm.Columns) != len(want) {
		t.Errorf("%d columns, want %d", len(tm.Columns), len(want))
	}
	for name, wc := range want {
		c := tm.Columns[name]
		if c == nil {
			t.Errorf("column %s missing", name)
			continue
		}
		if c.Name != name || c.Kind != wc.Kind || c.Position != wc.Position || c.ClusteringOrder != wc.ClusteringOrder ||
			c.Type.String() != wantType[name] {
			t.Errorf("column %s: %+v type %s, want %+v type %s", name, c, c.Type, wc, wantType[name])
		}
	}
	if v := tm.Columns["v"].Type; v.Kind != types.Vector || v.Elem.Kind != types.Float || v.Dimension != 5 {
		t.Errorf("vector column %+v", v)
	}
	if a := tm.Columns["addr"].Type; a != addr {
		t.Errorf("udt column is not the keyspace's type: %+v", a)
	}

	// ALTER TABLE ADD -> SCHEMA_CHANGE -> refresh; the old Schema is unchanged.
	q("ALTER TABLE " + ks + ".t ADD extra list<frozen<tuple<int, text>>>")
	s2 := wait("column extra", func(s *Schema) bool { return table(s) != nil && table(s).Columns["extra"] != nil })
	if c := table(s2).Columns["extra"]; c.Kind != RegularColumn || c.Type.String() != "list<tuple<int, varchar>>" {
		t.Errorf("extra: %+v %s", c, c.Type)
	}
	if tm.Columns["extra"] != nil {
		t.Error("the earlier Schema changed")
	}
	q("ALTER TABLE " + ks + ".t DROP extra")
	wait("drop of extra", func(s *Schema) bool { return table(s) != nil && table(s).Columns["extra"] == nil })
	q("DROP TABLE " + ks + ".t")
	wait("drop of t", func(s *Schema) bool { return s.Keyspaces[ks] != nil && table(s) == nil })
	q("DROP KEYSPACE " + ks)
	wait("drop of keyspace", func(s *Schema) bool { return s.Keyspaces[ks] == nil })
}
