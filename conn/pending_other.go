//go:build !linux

package conn

import "net"

// pendingBytes is known on Linux only (see pending_linux.go).
func pendingBytes(net.Conn) (int, bool) { return 0, false }
