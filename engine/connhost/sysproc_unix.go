//go:build unix && !linux

package connhost

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the plugin in a process group of its own, so that a forced kill also
// reaches whatever it started. Without Pdeathsig on this system, a plugin learns that its
// host is gone from its lifeline pipe (see protocol.LifelineEnv).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
