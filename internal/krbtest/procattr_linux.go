package krbtest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the KDC if the test binary dies.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
