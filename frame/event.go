package frame

import (
	"fmt"
	"net/netip"
)

// EVENT responses (v4 and v5 spec section 4.2.6): pushed by the server on
// the connection that REGISTERed for them, with stream id -1.

// Event is an EVENT message: *TopologyChange, *StatusChange or
// *SchemaChangeEvent.
type Event interface {
	Message
	// EventType is EventTopologyChange, EventStatusChange or
	// EventSchemaChange.
	EventType() string
}

// TopologyChangeType is the kind of a TOPOLOGY_CHANGE.
type TopologyChangeType string

const (
	TopologyNewNode     TopologyChangeType = "NEW_NODE"
	TopologyRemovedNode TopologyChangeType = "REMOVED_NODE"
	// TopologyMovedNode is sent by servers before Cassandra 4.0 when a node's
	// tokens moved; the v4 spec no longer lists it.
	TopologyMovedNode TopologyChangeType = "MOVED_NODE"
)

// StatusChangeType is the kind of a STATUS_CHANGE.
type StatusChangeType string

const (
	StatusUp   StatusChangeType = "UP"
	StatusDown StatusChangeType = "DOWN"
)

// TopologyChange is a TOPOLOGY_CHANGE event: a node joined or left the
// cluster. Address is the node's native protocol address (as the server
// sees it: it may need translating).
type TopologyChange struct {
	Change  TopologyChangeType
	Address netip.AddrPort
}

func (*TopologyChange) Opcode() Opcode    { return OpEvent }
func (*TopologyChange) EventType() string { return EventTopologyChange }
func (m *TopologyChange) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := startEvent(dst, v, EventTopologyChange)
	w.string("change", string(m.Change))
	w.inet("address", m.Address)
	return finish(&w, dst)
}

// StatusChange is a STATUS_CHANGE event: a node went up or down. An UP may
// come shortly before the node accepts connections.
type StatusChange struct {
	Change  StatusChangeType
	Address netip.AddrPort
}

func (*StatusChange) Opcode() Opcode    { return OpEvent }
func (*StatusChange) EventType() string { return EventStatusChange }
func (m *StatusChange) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := startEvent(dst, v, EventStatusChange)
	w.string("change", string(m.Change))
	w.inet("address", m.Address)
	return finish(&w, dst)
}

// SchemaChangeEvent is a SCHEMA_CHANGE event.
type SchemaChangeEvent struct {
	SchemaChange
}

func (*SchemaChangeEvent) Opcode() Opcode    { return OpEvent }
func (*SchemaChangeEvent) EventType() string { return EventSchemaChange }
func (m *SchemaChangeEvent) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := startEvent(dst, v, EventSchemaChange)
	m.SchemaChange.append(&w)
	return finish(&w, dst)
}

func startEvent(dst []byte, v Version, typ string) writer {
	w := writer{buf: dst, msg: "EVENT(" + typ + ")"}
	if responseVersionOK(&w, v, V4) {
		w.string("event_type", typ)
	}
	return w
}

func decodeEvent(r *reader, v Version) Message {
	start := r.off
	typ := r.string("event_type")
	if r.err != nil {
		return nil
	}
	var m Message
	switch typ {
	case EventTopologyChange:
		r.msg = "EVENT(" + EventTopologyChange + ")"
		e := &TopologyChange{Change: TopologyChangeType(r.string("change"))}
		e.Address = r.inet("address")
		m = e
	case EventStatusChange:
		r.msg = "EVENT(" + EventStatusChange + ")"
		e := &StatusChange{Change: StatusChangeType(r.string("change"))}
		e.Address = r.inet("address")
		m = e
	case EventSchemaChange:
		r.msg = "EVENT(" + EventSchemaChange + ")"
		m = &SchemaChangeEvent{SchemaChange: readSchemaChange(r)}
	default:
		r.off = start
		r.fail("event_type", fmt.Errorf("unknown event type %q", truncateForError(typ)))
	}
	if r.err != nil {
		return nil
	}
	return m
}
