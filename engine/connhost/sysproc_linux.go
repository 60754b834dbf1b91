package connhost

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the plugin in a process group of its own, so that a forced kill also
// reaches whatever it started (a wrapper script's child holding the protocol pipes would
// otherwise keep the plugin unreaped), and asks the kernel to SIGKILL it when the host
// dies, however the host dies (SIGKILL included).
//
// Pdeathsig fires when the *thread* that forked the child exits, not the process: Start
// forks from a goroutine locked to its OS thread and keeps it locked until the plugin is
// gone, so the Go runtime cannot retire that thread under a live plugin.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
