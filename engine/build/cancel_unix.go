//go:build unix

package build

import (
	"os/exec"
	"syscall"
	"time"
)

// killGroupOnCancel makes cancelling cmd's context end the whole `go
// build` process group (compile and link children included) and stops
// waiting for output pipes a leftover child may still hold: without it a
// SIGINT during a build waits until every compiler process finishes.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = time.Second
}
