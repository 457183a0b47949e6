package testserver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/compress"
	"github.com/cqlwire/cqlwire/types"
)

// Server is a running test server. Its methods are safe for concurrent use,
// except that Close and KillConnections must not be called from a Handler
// or SASL server (Close waits for the connection goroutines they run on).
type Server struct {
	opts      Options
	ln        net.Listener
	versions  [frame.V5 + 1]bool
	newest    frame.Version
	versList  string // "4/v4, 5/v5", for the unsupported-version error
	comps     map[string]frame.Compressor
	supported map[string][]string
	maxFrame  int
	rows      *frame.Rows // the canned QUERY/EXECUTE result
	bindType  *types.Type

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
	canned map[cannedKey]*canned

	prepMu   sync.RWMutex
	prepared map[string]*prepared

	wg          sync.WaitGroup
	nextID      atomic.Int64
	accepted    atomic.Int64
	open        atomic.Int64
	oldRequests atomic.Int64 // requests of connections that are gone
}

// Start starts a server listening on opts.Addr (default 127.0.0.1:0).
func Start(opts Options) (*Server, error) {
	s := &Server{opts: opts, conns: map[*conn]struct{}{}, canned: map[cannedKey]*canned{}, prepared: map[string]*prepared{}}
	vs := opts.Versions
	if vs == nil {
		vs = []frame.Version{frame.V4, frame.V5}
	}
	if len(vs) == 0 {
		return nil, errors.New("testserver: Options.Versions is empty")
	}
	var names []string
	for _, v := range slices.Sorted(slices.Values(vs)) {
		if v != frame.V4 && v != frame.V5 {
			return nil, fmt.Errorf("testserver: unsupported protocol version %d (4 and 5 are)", v)
		}
		if !s.versions[v] {
			names = append(names, fmt.Sprintf("%d/v%d", v, v))
		}
		s.versions[v] = true
		s.newest = max(s.newest, v)
	}
	s.versList = strings.Join(names, ", ")
	cs := opts.Compressions
	if cs == nil {
		cs = []string{"lz4", "snappy"}
	}
	s.comps = map[string]frame.Compressor{}
	for _, c := range cs {
		switch c {
		case "lz4":
			s.comps[c] = compress.LZ4{}
		case "snappy":
			s.comps[c] = compress.Snappy{}
		default:
			return nil, fmt.Errorf("testserver: unknown compression %q (lz4 and snappy are known)", c)
		}
	}
	s.supported = map[string][]string{
		"PROTOCOL_VERSIONS": names,
		"CQL_VERSION":       {"3.4.7"},
		"COMPRESSION":       slices.Clone(cs),
	}
	if opts.Authenticator != "" && opts.NewSASL == nil {
		return nil, errors.New("testserver: Options.Authenticator needs Options.NewSASL")
	}
	s.maxFrame = opts.MaxFrameSize
	if s.maxFrame <= 0 {
		s.maxFrame = frame.DefaultMaxFrameSize
	}
	s.rows = opts.Rows
	if s.rows == nil {
		s.rows = defaultRows()
	}
	if s.rows.Metadata.Flags&frame.MetaNoMetadata != 0 {
		return nil, errors.New("testserver: Options.Rows must carry its column metadata")
	}
	for _, v := range vs {
		if _, err := s.rows.AppendBody(nil, v); err != nil {
			return nil, fmt.Errorf("testserver: Options.Rows: %w", err)
		}
	}
	switch opts.BindType {
	case BindInt:
		s.bindType = types.Native(types.Int)
	default:
		s.bindType = types.Native(types.Blob)
	}

	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("testserver: %w", err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Addr is the address the server listens on, "host:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the listener, closes every connection (without flushing
// pending replies) and waits until every goroutine of the server, delayed
// replies included, has finished. It returns the listener's close error, if
// any; calling it again returns nil.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		c.kill()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := s.oldRequests.Load()
	for c := range s.conns {
		n += c.requests.Load()
	}
	s.mu.Unlock()
	return Stats{Accepted: s.accepted.Load(), Open: s.open.Load(), Requests: n}
}

// KillConnections closes every open connection at once, as a node that is
// killed would: replies not yet written are lost, requests in flight are
// never answered. The listener keeps accepting new connections. It returns
// the number of connections closed; their goroutines finish shortly after
// (Stats.Open drops when they have).
func (s *Server) KillConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		c.kill()
		n++
	}
	return n
}

// Broadcast pushes ev as an EVENT (stream -1) to every connection that has
// REGISTERed for its type, in each connection's version and compression,
// and returns the number of connections it was queued on.
func (s *Server) Broadcast(ev frame.Event) int {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	n := 0
	for _, c := range conns {
		if c.pushEvent(ev) {
			n++
		}
	}
	return n
}

// ResetPrepared forgets every prepared statement, as a restarted node
// does: the next EXECUTE of each gets an Unprepared error.
func (s *Server) ResetPrepared() {
	s.prepMu.Lock()
	clear(s.prepared)
	s.prepMu.Unlock()
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf("testserver: "+format, args...)
	}
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		if s.opts.TLS != nil {
			nc = tls.Server(nc, s.opts.TLS)
		}
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.accepted.Add(1)
		s.open.Add(1)
		s.wg.Add(2)
		s.mu.Unlock()
		go c.serve()
		go c.writeLoop()
	}
}

// removeConn is called by a connection's reader goroutine when it ends.
func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.oldRequests.Add(c.requests.Load())
	s.open.Add(-1)
	s.mu.Unlock()
}

func (s *Server) supportedVersion(v frame.Version) bool {
	return int(v) < len(s.versions) && s.versions[v]
}

// unsupportedVersionReply is what Cassandra answers a request in a version
// it does not speak: a Protocol_error on stream 0, in the client's version
// when that is an older version, else in the newest supported one.
func (s *Server) unsupportedVersion(v frame.Version) []byte {
	rv := s.newest
	if v >= frame.V3 && v < s.newest {
		rv = v
	}
	e := &frame.Envelope{Version: rv, Response: true, Message: &frame.Error{Code: frame.CodeProtocolError,
		Message: "Invalid or unsupported protocol version (" + strconv.Itoa(int(v)) + "); supported versions are (" + s.versList + ")"}}
	b, err := frame.AppendEnvelope(nil, e, nil)
	if err != nil {
		panic(err) // cannot happen: a fixed message in a known version
	}
	return b
}
