package testserver

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/segment"
)

// FuzzServer sends arbitrary bytes to a server (which must neither panic
// nor hang: every input ends with the client's EOF, which the server must
// answer by closing), then checks the server still serves a fresh client.
func FuzzServer(f *testing.F) {
	plain := &Plain{Users: map[string]string{"u": "p"}}
	servers := map[string]*Server{}
	for name, opts := range map[string]Options{
		"machine": {},
		"strict":  {Strict: true, MaxFrameSize: 1 << 16},
		"echo":    {Echo: true},
		"dse":     {Authenticator: DSEAuthenticator, NewSASL: DSE(map[string]func(*ConnInfo) SASLServer{"PLAIN": plain.NewSASL}, "PLAIN")},
	} {
		s, err := Start(opts)
		if err != nil {
			f.Fatal(err)
		}
		servers[name] = s
		f.Cleanup(func() { s.Close() })
	}
	env := func(v frame.Version, stream int16, m frame.Message, c frame.Compressor) []byte {
		b, err := frame.AppendEnvelope(nil, &frame.Envelope{Version: v, Stream: stream, Message: m}, c)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	q := &frame.Query{Query: "SELECT ?", Params: frame.QueryParams{Consistency: frame.One, Values: []frame.Value{{Bytes: []byte("x")}}}}
	v4 := append(append(env(frame.V4, 0, &frame.Options{}, nil), env(frame.V4, 1, frame.NewStartup("", "", ""), nil)...), env(frame.V4, 2, q, nil)...)
	var w segment.Writer
	seg, _ := w.Append(nil, env(frame.V5, 2, q, nil), env(frame.V5, 3, &frame.Prepare{Query: "SELECT ?"}, nil))
	v5 := append(env(frame.V5, 1, frame.NewStartup("", "", ""), nil), seg...)
	w.Compress = true
	seg, _ = w.Append(nil, env(frame.V5, 2, q, nil))
	v5lz4 := append(env(frame.V5, 1, frame.NewStartup("lz4", "", ""), nil), seg...)
	auth := append(env(frame.V4, 1, frame.NewStartup("", "", ""), nil), env(frame.V4, 2, &frame.AuthResponse{Token: []byte("PLAIN")}, nil)...)
	for _, name := range []string{"machine", "strict", "echo", "dse"} {
		for _, seed := range [][]byte{v4, v5, v5lz4, auth, v4[:20], {0x05}, {0x04, 0, 0, 0, 0x07, 0xff, 0xff, 0xff, 0xff}} {
			f.Add(name, seed)
		}
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		s := servers[name]
		if s == nil {
			return
		}
		nc, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		go func() {
			nc.Write(data)
			nc.(*net.TCPConn).CloseWrite()
		}()
		if _, err := io.Copy(io.Discard, nc); err != nil && !errors.Is(err, net.ErrClosed) {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("server did not close after the client's EOF: %v", err)
			}
		}
	})
}
