//go:build !unix

package build

import (
	"os/exec"
	"time"
)

// killGroupOnCancel bounds the wait for output pipes after cancellation
// (process groups are a Unix notion).
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.WaitDelay = time.Second
}
