package wiretest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/compress"
	"github.com/cqlwire/cqlwire/frame/segment"
)

// Options configures a Client.
type Options struct {
	Version     frame.Version
	Compression string // "", "lz4" or "snappy" (v4 only)
	Username    string
	Password    string
	TLS         *tls.Config // nil: plain TCP
	Timeout     time.Duration
}

// Client is one connection used synchronously.
type Client struct {
	nc        net.Conn
	opts      Options
	stream    int16
	segmented bool             // v5 after READY/AUTHENTICATE
	bodyComp  frame.Compressor // v4 compression of what we send, after STARTUP
	recvComp  frame.Compressor // v4 compression the server may use, from its answer to STARTUP on
	segComp   bool
	segWriter segment.Writer
	reasm     segment.Reassembler
	rbuf      []byte // unread bytes from the socket
	ready     [][]byte
	// Supported is the server's answer to OPTIONS.
	Supported *frame.Supported
}

// Dial connects and performs the whole handshake.
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	d := net.Dialer{Timeout: opts.Timeout}
	var nc net.Conn
	var err error
	if opts.TLS != nil {
		td := tls.Dialer{NetDialer: &d, Config: opts.TLS}
		nc, err = td.DialContext(ctx, "tcp", addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	c := &Client{nc: nc, opts: opts}
	if err := c.handshake(); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.nc.Close() }

func (c *Client) handshake() error {
	resp, err := c.Do(&frame.Options{})
	if err != nil {
		return fmt.Errorf("OPTIONS: %w", err)
	}
	sup, ok := resp.Message.(*frame.Supported)
	if !ok {
		return fmt.Errorf("OPTIONS answered by %s", frame.DescribeMessage(resp.Message))
	}
	c.Supported = sup
	opts := map[string]string{frame.StartupCQLVersion: frame.DefaultCQLVersion, frame.StartupDriverName: "cqlwire-wiretest"}
	if c.opts.Compression != "" {
		opts[frame.StartupCompression] = c.opts.Compression
	}
	// The server compresses (v4) its very answer to STARTUP; requests are
	// compressed from the next one on. v5 switches to segments after that
	// answer, in both directions.
	var comp frame.Compressor
	switch c.opts.Compression {
	case "lz4":
		if c.opts.Version >= frame.V5 {
			c.segComp = true
		} else {
			comp = compress.LZ4{}
		}
	case "snappy":
		comp = compress.Snappy{}
	}
	c.recvComp = comp
	resp, err = c.Do(&frame.Startup{Options: opts})
	if err != nil {
		return fmt.Errorf("STARTUP: %w", err)
	}
	c.bodyComp = comp
	c.segmented = c.opts.Version >= frame.V5
	c.segWriter.Compress = c.segComp
	switch m := resp.Message.(type) {
	case *frame.Ready:
		return nil
	case *frame.Authenticate:
		token := append([]byte{0}, c.opts.Username...)
		token = append(append(token, 0), c.opts.Password...)
		resp, err = c.Do(&frame.AuthResponse{Token: token})
		if err != nil {
			return fmt.Errorf("AUTH_RESPONSE (%s): %w", m.Authenticator, err)
		}
		if _, ok := resp.Message.(*frame.AuthSuccess); !ok {
			return fmt.Errorf("authentication answered by %s", frame.DescribeMessage(resp.Message))
		}
		return nil
	default:
		return fmt.Errorf("STARTUP answered by %s", frame.DescribeMessage(resp.Message))
	}
}

// Do sends one request and waits for its answer. A server ERROR is returned
// as the error (a *frame.Error), together with the envelope.
func (c *Client) Do(msg frame.Message) (*frame.Envelope, error) {
	return c.DoEnvelope(&frame.Envelope{Message: msg})
}

// DoEnvelope sends a request envelope (Version and Stream are filled in).
func (c *Client) DoEnvelope(e *frame.Envelope) (*frame.Envelope, error) {
	c.stream = (c.stream + 1) & 0x7FFF
	e.Version, e.Stream = c.opts.Version, c.stream
	raw, err := frame.AppendEnvelope(nil, e, c.bodyComp)
	if err != nil {
		return nil, err
	}
	if c.segmented {
		if raw, err = c.segWriter.Append(nil, raw); err != nil {
			return nil, err
		}
	}
	if err := c.nc.SetDeadline(time.Now().Add(c.opts.Timeout)); err != nil {
		return nil, err
	}
	if _, err := c.nc.Write(raw); err != nil {
		return nil, err
	}
	for {
		envBytes, err := c.readEnvelope()
		if err != nil {
			return nil, err
		}
		resp, _, err := frame.DecodeEnvelope(envBytes, &frame.DecodeOptions{Compressor: c.recvComp})
		if err != nil {
			return nil, err
		}
		if resp.Stream != e.Stream {
			continue // an event (stream -1) or a stale answer
		}
		if fe, ok := resp.Message.(*frame.Error); ok {
			return resp, fe
		}
		return resp, nil
	}
}

func (c *Client) fill() error {
	var tmp [64 << 10]byte
	n, err := c.nc.Read(tmp[:])
	c.rbuf = append(c.rbuf, tmp[:n]...)
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

func (c *Client) readEnvelope() ([]byte, error) {
	if !c.segmented {
		for {
			if len(c.rbuf) >= frame.HeaderSize {
				h, err := frame.ParseHeader(c.rbuf, nil)
				if err != nil {
					return nil, err
				}
				if n := frame.HeaderSize + h.Length; len(c.rbuf) >= n {
					out := append([]byte(nil), c.rbuf[:n]...)
					c.rbuf = c.rbuf[n:]
					return out, nil
				}
			}
			if err := c.fill(); err != nil {
				return nil, err
			}
		}
	}
	for len(c.ready) == 0 {
		payload, self, n, err := segment.DecodeSegment(c.rbuf, c.segComp, nil)
		if errors.Is(err, segment.ErrIncomplete) {
			if err := c.fill(); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		err = c.reasm.Add(payload, self, func(env []byte) error {
			c.ready = append(c.ready, append([]byte(nil), env...))
			return nil
		})
		c.rbuf = c.rbuf[n:]
		if err != nil {
			return nil, err
		}
	}
	out := c.ready[0]
	c.ready = c.ready[1:]
	return out, nil
}

// Query runs a CQL statement at consistency ONE with optional values.
func (c *Client) Query(cql string, values ...frame.Value) (*frame.Envelope, error) {
	return c.Do(&frame.Query{Query: cql, Params: frame.QueryParams{Consistency: frame.One, Values: values}})
}
