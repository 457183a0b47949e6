package conn

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
)

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		addr string
		want string
	}{
		{"bad address", Config{}, "no-port", "not host:port"},
		{"bad compression", Config{Compression: "zstd"}, "", `Compression "zstd"`},
		{"snappy on v5", Config{Compression: "snappy", MaxVersion: frame.V5}, "", "exists only in protocol v4"},
		{"v3", Config{MaxVersion: frame.V3}, "", "MaxVersion 3"},
		{"v6", Config{MaxVersion: 6}, "", "MaxVersion 6"},
		{"min above max", Config{MinVersion: frame.V5, MaxVersion: frame.V4}, "", "above MaxVersion"},
		{"old TLS", Config{TLS: &tls.Config{MinVersion: tls.VersionTLS10}}, "", "TLS 1.2 is the minimum"},
		{"negative dial timeout", Config{DialTimeout: -1}, "", "DialTimeout"},
		{"frame size", Config{MaxFrameSize: -5}, "", "MaxFrameSize"},
		{"streams", Config{MaxStreams: 40000}, "", "MaxStreams 40000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := tc.addr
			if addr == "" {
				addr = "127.0.0.1:1"
			}
			_, err := Dial(context.Background(), addr, &tc.cfg)
			var ce *Error
			if !errors.Is(err, ErrConfig) || !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || ce.Addr != addr {
				t.Fatalf("got %v, want a config error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	s, err := (*Config)(nil).validate("node1:9042")
	if err != nil {
		t.Fatal(err)
	}
	if s.maxVersion != frame.V5 || s.minVersion != frame.V4 || s.timeout != DefaultTimeout ||
		s.heartbeat != DefaultHeartbeatInterval || s.dialTimeout != DefaultDialTimeout ||
		s.maxStreams != MaxStreams || s.maxFrame != frame.DefaultMaxFrameSize || s.serverName != "node1" ||
		s.driverName != DefaultDriverName || s.driverVersion == "" {
		t.Errorf("defaults: %+v", s)
	}
	s, _ = (&Config{Compression: "snappy"}).validate("node1:9042")
	if s.maxVersion != frame.V4 {
		t.Errorf("snappy: max version %d", s.maxVersion)
	}
	orig := &tls.Config{}
	s, _ = (&Config{TLS: orig, ServerName: "db.example"}).validate("10.1.2.3:9042")
	if s.tls == orig || s.tls.ServerName != "db.example" || s.tls.MinVersion != tls.VersionTLS12 || orig.ServerName != "" {
		t.Errorf("TLS config not cloned and completed: %+v", s.tls)
	}
}

func TestTLSOptions(t *testing.T) {
	if _, err := (&TLSOptions{CAPEM: []byte("nothing")}).Config(); err == nil {
		t.Error("CAPEM without a certificate accepted")
	}
	if _, err := (&TLSOptions{CAFile: "/nonexistent/ca.pem"}).Config(); err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Errorf("missing CA file: %v", err)
	}
	if _, err := (&TLSOptions{CertFile: "x"}).Config(); err == nil {
		t.Error("CertFile without KeyFile accepted")
	}
	if _, err := (&TLSOptions{MinVersion: tls.VersionTLS11}).Config(); err == nil {
		t.Error("TLS 1.1 accepted")
	}
	cfg, err := (&TLSOptions{CAPEM: throwawayCA(t)}).Config()
	if err != nil || cfg.RootCAs == nil || cfg.InsecureSkipVerify || cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("%+v %v", cfg, err)
	}
}

func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{&Error{Addr: "h:1", Op: "QUERY", Request: true, Sent: true, Err: ErrClosed},
			"conn h:1: QUERY: connection closed (the request was sent and may have been executed)"},
		{&Error{Addr: "h:1", Op: "QUERY", Request: true, Err: ErrClosed},
			"conn h:1: QUERY: connection closed (the request was not sent, so it was not executed)"},
		{&Error{Addr: "h:1", Op: "dial", Err: errors.New("refused")}, "conn h:1: dial: refused"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestDialRefused(t *testing.T) {
	start := time.Now()
	_, err := Dial(context.Background(), "127.0.0.1:1", nil)
	var ce *Error
	if !errors.As(err, &ce) || ce.Op != "dial" || time.Since(start) > 5*time.Second {
		t.Fatalf("got %v", err)
	}
}

func TestNilMessage(t *testing.T) {
	c := &Conn{addr: "x:1"}
	if _, err := c.Do(context.Background(), Request{}); err == nil {
		t.Fatal("nil message accepted")
	}
}
