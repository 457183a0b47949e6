package cluster

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/pool"
	"github.com/cqlwire/cqlwire/types"
)

// The schema queries of a refresh (system_schema.keyspaces is read by
// queryKeyspaces).
const (
	queryTables  = "SELECT keyspace_name, table_name FROM system_schema.tables"
	queryColumns = "SELECT keyspace_name, table_name, column_name, kind, position, clustering_order, type FROM system_schema.columns"
	queryTypes   = "SELECT keyspace_name, type_name, field_names, field_types FROM system_schema.types"
)

// Schema is the schema metadata read on the last successful refresh. It is
// immutable: a refresh publishes a new Schema, never changes one.
type Schema struct {
	Keyspaces map[string]*KeyspaceMetadata
}

// KeyspaceMetadata describes one keyspace.
type KeyspaceMetadata struct {
	Name        string
	Replication pool.Replication
	Tables      map[string]*TableMetadata
	// Types are the user types of the keyspace by name (Kind types.UDT,
	// with Keyspace, Name and Fields set).
	Types map[string]*types.Type
}

// TableMetadata describes one table.
type TableMetadata struct {
	Keyspace, Name string
	// PartitionKey are the partition key columns by position.
	PartitionKey []*ColumnMetadata
	// ClusteringColumns are the clustering columns by position, each with
	// its ClusteringOrder.
	ClusteringColumns []*ColumnMetadata
	Columns           map[string]*ColumnMetadata
	// ColumnOrder is the partition key, the clustering columns, then the
	// other columns by name, as SELECT * returns them.
	ColumnOrder []string
}

// ColumnKind is system_schema.columns.kind.
type ColumnKind string

// The column kinds.
const (
	PartitionKeyColumn ColumnKind = "partition_key"
	ClusteringColumn   ColumnKind = "clustering"
	RegularColumn      ColumnKind = "regular"
	StaticColumn       ColumnKind = "static"
)

// ColumnMetadata describes one column. Position is the index within the
// partition key or the clustering columns (-1 for the others);
// ClusteringOrder is "asc" or "desc" for clustering columns, "none" for the
// others. A vector column has Type.Kind == types.Vector.
type ColumnMetadata struct {
	Name            string
	Kind            ColumnKind
	Position        int
	Type            *types.Type
	ClusteringOrder string
}

// Schema returns the schema metadata of the last successful refresh (nil
// before the first one). It takes no lock.
func (w *Watcher) Schema() *Schema { return w.schema.Load() }

// readSchema reads tables, columns and user types on c. A column whose type
// does not parse is an error: the previous schema is kept.
func readSchema(ctx context.Context, c *conn.Conn, keyspaces map[string]pool.Replication) (*Schema, error) {
	s := &Schema{Keyspaces: make(map[string]*KeyspaceMetadata, len(keyspaces))}
	for name, rep := range keyspaces {
		s.Keyspaces[name] = &KeyspaceMetadata{Name: name, Replication: rep,
			Tables: map[string]*TableMetadata{}, Types: map[string]*types.Type{}}
	}

	// User types: field types may name other user types of the keyspace,
	// so they are resolved on demand (a cycle, which Cassandra forbids,
	// leaves a name-only UDT).
	tt, err := selectRows(ctx, c, queryTypes)
	if err != nil {
		return nil, err
	}
	type rawUDT struct {
		names, types []string
		state        int // 0 todo, 1 in progress, 2 done
	}
	raw := map[[2]string]*rawUDT{}
	for _, row := range tt.rows {
		var ks, name string
		r := &rawUDT{}
		for col, dst := range map[string]any{"keyspace_name": &ks, "type_name": &name,
			"field_names": &r.names, "field_types": &r.types} {
			if err := tt.get(row, col, dst); err != nil {
				return nil, fmt.Errorf("cluster: system_schema.types: %w", err)
			}
		}
		if len(r.names) != len(r.types) {
			return nil, fmt.Errorf("cluster: user type %s.%s: %d field names, %d field types", ks, name, len(r.names), len(r.types))
		}
		if s.Keyspaces[ks] != nil {
			raw[[2]string{ks, name}] = r
		}
	}
	var resolve func(ks, name string) (*types.Type, error)
	resolve = func(ks, name string) (*types.Type, error) {
		km := s.Keyspaces[ks]
		if t := km.Types[name]; t != nil {
			return t, nil
		}
		r := raw[[2]string{ks, name}]
		if r == nil || r.state != 0 {
			return nil, nil
		}
		r.state = 1
		t := &types.Type{Kind: types.UDT, Keyspace: ks, Name: name, Fields: make([]types.Field, len(r.names))}
		for i, fs := range r.types {
			ft, err := parseIn(ks, fs, resolve)
			if err != nil {
				return nil, fmt.Errorf("cluster: user type %s.%s field %s: %w", ks, name, r.names[i], err)
			}
			t.Fields[i] = types.Field{Name: r.names[i], Type: ft}
		}
		r.state = 2
		km.Types[name] = t
		return t, nil
	}
	for k := range raw {
		if _, err := resolve(k[0], k[1]); err != nil {
			return nil, err
		}
	}

	tbl, err := selectRows(ctx, c, queryTables)
	if err != nil {
		return nil, err
	}
	for _, row := range tbl.rows {
		var ks, name string
		if err := tbl.get(row, "keyspace_name", &ks); err != nil {
			return nil, err
		}
		if err := tbl.get(row, "table_name", &name); err != nil {
			return nil, err
		}
		if km := s.Keyspaces[ks]; km != nil {
			km.Tables[name] = &TableMetadata{Keyspace: ks, Name: name, Columns: map[string]*ColumnMetadata{}}
		}
	}

	ct, err := selectRows(ctx, c, queryColumns)
	if err != nil {
		return nil, err
	}
	for _, row := range ct.rows {
		var ks, table, name, kind, order, typ string
		var pos int32
		for col, dst := range map[string]any{"keyspace_name": &ks, "table_name": &table, "column_name": &name,
			"kind": &kind, "position": &pos, "clustering_order": &order, "type": &typ} {
			if err := ct.get(row, col, dst); err != nil {
				return nil, fmt.Errorf("cluster: system_schema.columns: %w", err)
			}
		}
		km := s.Keyspaces[ks]
		if km == nil || km.Tables[table] == nil {
			continue // a materialized view's columns, or a table created since
		}
		t, err := parseIn(ks, typ, resolve)
		if err != nil {
			return nil, fmt.Errorf("cluster: column %s.%s.%s: %w", ks, table, name, err)
		}
		km.Tables[table].Columns[name] = &ColumnMetadata{Name: name, Kind: ColumnKind(kind), Position: int(pos),
			Type: t, ClusteringOrder: order}
	}
	for _, km := range s.Keyspaces {
		for _, tm := range km.Tables {
			var rest []string
			for _, col := range tm.Columns {
				switch col.Kind {
				case PartitionKeyColumn:
					tm.PartitionKey = append(tm.PartitionKey, col)
				case ClusteringColumn:
					tm.ClusteringColumns = append(tm.ClusteringColumns, col)
				default:
					rest = append(rest, col.Name)
				}
			}
			byPos := func(a, b *ColumnMetadata) int { return cmp.Compare(a.Position, b.Position) }
			slices.SortFunc(tm.PartitionKey, byPos)
			slices.SortFunc(tm.ClusteringColumns, byPos)
			slices.Sort(rest)
			for _, col := range tm.PartitionKey {
				tm.ColumnOrder = append(tm.ColumnOrder, col.Name)
			}
			for _, col := range tm.ClusteringColumns {
				tm.ColumnOrder = append(tm.ColumnOrder, col.Name)
			}
			tm.ColumnOrder = append(tm.ColumnOrder, rest...)
		}
	}
	return s, nil
}

// parseIn parses a CQL type name of keyspace ks, resolving user types.
func parseIn(ks, s string, resolve func(ks, name string) (*types.Type, error)) (*types.Type, error) {
	var rerr error
	t, err := types.ParseCQLType(s, func(name string) *types.Type {
		u, err := resolve(ks, name)
		if err != nil && rerr == nil {
			rerr = err
		}
		if u == nil {
			return nil
		}
		return u
	})
	if rerr != nil {
		return nil, rerr
	}
	if err != nil {
		return nil, err
	}
	if t.Kind == types.UDT && t.Keyspace == "" {
		t.Keyspace = ks // unknown to system_schema.types
	}
	return t, nil
}
