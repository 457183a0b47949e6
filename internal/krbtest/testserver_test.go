package krbtest

import "github.com/cqlwire/cqlwire/internal/testserver"

// The acceptors plug into the in-process CQL server's SASL hook.
var (
	_ testserver.SASLServer = (*Session)(nil)
	_ testserver.Identity   = (*Session)(nil)
	_ testserver.SASLServer = (*MITSession)(nil)
	_ testserver.Identity   = (*MITSession)(nil)
)
