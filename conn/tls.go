package conn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSOptions builds the *tls.Config of Config.TLS from PEM files or bytes.
// The zero value trusts the system's root CAs and verifies the node's
// certificate against the name or IP address dialled.
type TLSOptions struct {
	// CAFile and CAPEM hold the PEM certificates of the CAs that sign the
	// nodes' certificates (either or both). Both empty means the system's
	// root CAs.
	CAFile string
	CAPEM  []byte

	// CertFile/KeyFile or CertPEM/KeyPEM are the client certificate and
	// its key, for nodes that require mutual TLS. Sending one to a node
	// that does not ask for it is harmless.
	CertFile, KeyFile string
	CertPEM, KeyPEM   []byte

	// ServerName is the name or IP address the node's certificate must be
	// valid for. Empty means the one Dial connects to (Config.ServerName,
	// or the host of the address).
	ServerName string

	// MinVersion is the lowest TLS version accepted; zero means TLS 1.2,
	// which is also the lowest allowed.
	MinVersion uint16

	// DangerouslySkipVerification accepts any certificate for any name:
	// the connection is encrypted but not authenticated, so anyone on the
	// path can read and change it. Only for throw-away test nodes.
	DangerouslySkipVerification bool
}

// Config returns the tls.Config these options describe.
func (o *TLSOptions) Config() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: o.ServerName, MinVersion: o.MinVersion}
	switch {
	case cfg.MinVersion == 0:
		cfg.MinVersion = tls.VersionTLS12
	case cfg.MinVersion < tls.VersionTLS12:
		return nil, fmt.Errorf("conn: TLS options: MinVersion %s: TLS 1.2 is the minimum", tls.VersionName(cfg.MinVersion))
	}
	if o.CAFile != "" || len(o.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("conn: TLS options: CA file: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("conn: TLS options: CA file %s holds no PEM certificate", o.CAFile)
			}
		}
		if len(o.CAPEM) > 0 && !pool.AppendCertsFromPEM(o.CAPEM) {
			return nil, errors.New("conn: TLS options: CAPEM holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	switch {
	case o.CertFile != "" || o.KeyFile != "":
		if o.CertFile == "" || o.KeyFile == "" {
			return nil, errors.New("conn: TLS options: CertFile and KeyFile must be given together")
		}
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("conn: TLS options: client certificate %s: %w", o.CertFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case len(o.CertPEM) > 0 || len(o.KeyPEM) > 0:
		cert, err := tls.X509KeyPair(o.CertPEM, o.KeyPEM)
		if err != nil {
			// The error of X509KeyPair never quotes the key material.
			return nil, fmt.Errorf("conn: TLS options: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	cfg.InsecureSkipVerify = o.DangerouslySkipVerification
	return cfg, nil
}
