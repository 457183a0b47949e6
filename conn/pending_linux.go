package conn

import (
	"net"
	"syscall"
	"unsafe"
)

// pendingBytes returns how many received bytes wait in the kernel's socket
// buffer, not yet read by the connection: when the process itself is
// starved of CPU, the server's answers sit there while the reader waits to
// be scheduled, and that silence is the client's, not the server's.
func pendingBytes(nc net.Conn) (int, bool) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var n int32
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	}); err != nil || errno != 0 {
		return 0, false
	}
	return int(n), true
}
