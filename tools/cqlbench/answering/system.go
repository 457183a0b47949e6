package answering

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/types"
)

// SystemTables are the answers to the queries a driver's control connection
// sends when it starts (gocql reads system.local, system.peers_v2 or
// system.peers, and with schema metadata on, system_schema tables): one
// system.local row describing a one-node cluster that owns token 0, and
// empty results for the others. Also used by connbench's gocql setup.
type SystemTables struct {
	local, peers, schema *frame.Rows
}

// NewSystemTables builds the answers.
func NewSystemTables() (*SystemTables, error) {
	varchar := types.Native(types.Varchar)
	inet := types.Native(types.Inet)
	uuid := types.Native(types.UUID)
	tokens := types.SetOf(varchar)
	loopback := netip.MustParseAddr("127.0.0.1")
	hostID, _ := types.ParseUUID("cb000000-0000-4000-8000-000000000001")
	schemaVersion, _ := types.ParseUUID("cb000000-0000-4000-8000-000000000002")

	type cell struct {
		name string
		typ  *types.Type
		v    any
	}
	localCells := []cell{
		{"key", varchar, "local"},
		{"bootstrapped", varchar, "COMPLETED"},
		{"broadcast_address", inet, loopback},
		{"cluster_name", varchar, "cqlbench"},
		{"cql_version", varchar, "3.4.7"},
		{"data_center", varchar, "datacenter1"},
		{"host_id", uuid, hostID},
		{"listen_address", inet, loopback},
		{"partitioner", varchar, "org.apache.cassandra.dht.Murmur3Partitioner"},
		{"rack", varchar, "rack1"},
		{"release_version", varchar, "5.0.6"},
		{"rpc_address", inet, loopback},
		{"schema_version", uuid, schemaVersion},
		{"tokens", tokens, []string{"0"}},
	}
	local := &frame.Rows{Metadata: frame.RowsMetadata{Flags: frame.MetaGlobalTablesSpec}}
	var row [][]byte
	for _, c := range localCells {
		local.Metadata.Columns = append(local.Metadata.Columns,
			frame.ColumnSpec{Keyspace: "system", Table: "local", Name: c.name, Type: c.typ})
		b, _, err := types.Append(nil, c.typ, c.v)
		if err != nil {
			return nil, fmt.Errorf("system.local %s: %w", c.name, err)
		}
		row = append(row, b)
	}
	if err := local.AppendRow(row...); err != nil {
		return nil, err
	}

	peers := &frame.Rows{Metadata: frame.RowsMetadata{Flags: frame.MetaGlobalTablesSpec}}
	for _, c := range []cell{
		{"peer", inet, nil}, {"data_center", varchar, nil}, {"host_id", uuid, nil},
		{"rack", varchar, nil}, {"release_version", varchar, nil}, {"rpc_address", inet, nil},
		{"schema_version", uuid, nil}, {"tokens", tokens, nil},
	} {
		peers.Metadata.Columns = append(peers.Metadata.Columns,
			frame.ColumnSpec{Keyspace: "system", Table: "peers", Name: c.name, Type: c.typ})
	}
	schema := &frame.Rows{Metadata: frame.RowsMetadata{Flags: frame.MetaGlobalTablesSpec,
		Columns: []frame.ColumnSpec{{Keyspace: "system_schema", Table: "keyspaces", Name: "keyspace_name", Type: varchar}}}}
	return &SystemTables{local: local, peers: peers, schema: schema}, nil
}

// Answer returns the rows for a query on a system table, or nil.
func (s *SystemTables) Answer(query []byte) *frame.Rows {
	switch {
	case bytes.Contains(query, []byte("system.local")):
		return s.local
	case bytes.Contains(query, []byte("system.peers")):
		return s.peers
	case bytes.Contains(query, []byte("system_schema.")):
		return s.schema
	}
	return nil
}

// QueryText returns the CQL text at the start of a QUERY body (a [long
// string]), or nil.
func QueryText(body []byte) []byte {
	if len(body) < 4 {
		return nil
	}
	n := int(int32(binary.BigEndian.Uint32(body)))
	if n < 0 || n > len(body)-4 {
		return nil
	}
	return body[4 : 4+n]
}
