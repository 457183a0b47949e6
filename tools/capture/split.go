package capture

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/compress"
	"github.com/cqlwire/cqlwire/frame/segment"
	"github.com/cqlwire/cqlwire/tools/pcap"
)

// Direction says who sent a frame.
type Direction int

const (
	ToServer Direction = iota
	ToClient
)

func (d Direction) String() string {
	if d == ToServer {
		return "client->server"
	}
	return "server->client"
}

// Frame is one envelope found in a captured stream.
type Frame struct {
	Dir    Direction
	Offset int // byte offset in its direction's stream where the envelope (or its first segment) starts
	// Raw is the envelope as sent, header included (for v4 compressed bodies,
	// still compressed).
	Raw []byte
	// Segmented tells that it travelled inside v5 segments, and
	// SegmentCompressed that those were LZ4 segments.
	Segmented, SegmentCompressed bool
	// Compression names the v4 body compression in force ("" when none).
	Compression string
	Envelope    *frame.Envelope // nil when Err is set
	Err         error
}

// Conn is a split connection.
type Conn struct {
	*pcap.Conn
	Version     frame.Version // of the STARTUP, 0 if none was seen
	Compression string        // STARTUP's COMPRESSION option
	Frames      []Frame       // client frames and server frames, each in stream order, clients' first
	// Trailing holds, per direction, an error about bytes left at the end
	// of the stream that do not form a whole envelope or segment.
	Trailing [2]error
}

// Split splits one TCP connection. The client stream is read first: its
// STARTUP says which version and compression the server's stream uses.
func Split(c *pcap.Conn) *Conn {
	out := &Conn{Conn: c}
	var startupVersion frame.Version
	var compression string
	cli := splitter{dir: ToServer, onStartup: func(v frame.Version, comp string) {
		startupVersion, compression = v, comp
	}}
	out.Frames = append(out.Frames, cli.run(c.ToServer)...)
	out.Trailing[ToServer] = cli.trailing
	out.Version, out.Compression = startupVersion, compression
	srv := splitter{dir: ToClient, version: startupVersion, compression: compression}
	out.Frames = append(out.Frames, srv.run(c.ToClient)...)
	out.Trailing[ToClient] = srv.trailing
	return out
}

type splitter struct {
	dir         Direction
	version     frame.Version // server side: the STARTUP's version
	compression string        // server side: the STARTUP's compression
	onStartup   func(frame.Version, string)

	segmented bool
	trailing  error
}

func (s *splitter) compressor() frame.Compressor {
	if s.version >= frame.V5 || s.version == 0 {
		return nil
	}
	switch strings.ToLower(s.compression) {
	case "lz4":
		return compress.LZ4{}
	case "snappy":
		return compress.Snappy{}
	}
	return nil
}

func (s *splitter) run(stream []byte) []Frame {
	var frames []Frame
	off := 0
	// Legacy framing until the STARTUP (client) or its answer (server).
	for !s.segmented && off < len(stream) {
		rest := stream[off:]
		h, err := frame.ParseHeader(rest, nil)
		if err != nil {
			if errors.Is(err, frame.ErrTruncated) {
				s.trailing = fmt.Errorf("%s: %d bytes at offset %d do not hold a whole envelope header", s.dir, len(rest), off)
			} else {
				s.trailing = fmt.Errorf("%s: offset %d: %w", s.dir, off, err)
			}
			return frames
		}
		n := frame.HeaderSize + h.Length
		if n > len(rest) {
			s.trailing = fmt.Errorf("%s: envelope at offset %d needs %d bytes, %d captured", s.dir, off, n, len(rest))
			return frames
		}
		f := s.decode(rest[:n], off, false, false)
		frames = append(frames, f)
		off += n
		s.observe(h, f)
	}
	if off >= len(stream) {
		return frames
	}
	// v5 segments from here on.
	compressed := strings.EqualFold(s.compression, "lz4")
	var reasm segment.Reassembler
	reasm.Retain = true
	segStart := off
	for off < len(stream) {
		payload, self, n, err := segment.DecodeSegment(stream[off:], compressed, nil)
		if err != nil {
			if errors.Is(err, segment.ErrIncomplete) {
				s.trailing = fmt.Errorf("%s: segment at offset %d is incomplete (%d bytes captured)", s.dir, off, len(stream)-off)
			} else {
				s.trailing = fmt.Errorf("%s: segment at offset %d: %w", s.dir, off, err)
			}
			return frames
		}
		if reasm.Pending() == 0 {
			segStart = off
		}
		err = reasm.Add(payload, self, func(env []byte) error {
			frames = append(frames, s.decode(append([]byte(nil), env...), segStart, true, compressed))
			return nil
		})
		if err != nil {
			s.trailing = fmt.Errorf("%s: segment at offset %d: %w", s.dir, off, err)
			return frames
		}
		off += n
	}
	return frames
}

// observe switches to segments at the right moment and, on the client side,
// reads STARTUP's version and compression.
func (s *splitter) observe(h frame.Header, f Frame) {
	if f.Envelope == nil {
		return
	}
	switch m := f.Envelope.Message.(type) {
	case *frame.Startup:
		s.version = h.Version
		s.compression = m.Options[frame.StartupCompression]
		if s.onStartup != nil {
			s.onStartup(s.version, s.compression)
		}
		s.segmented = s.dir == ToServer && h.Version >= frame.V5
	case *frame.Ready, *frame.Authenticate:
		s.segmented = s.dir == ToClient && s.version >= frame.V5
	}
}

func (s *splitter) decode(raw []byte, off int, segmented, segCompressed bool) Frame {
	f := Frame{Dir: s.dir, Offset: off, Raw: raw, Segmented: segmented, SegmentCompressed: segCompressed}
	c := s.compressor()
	if c != nil {
		f.Compression = c.Name()
	}
	f.Envelope, _, f.Err = frame.DecodeEnvelope(raw, &frame.DecodeOptions{Compressor: c})
	return f
}
