//go:build unix

package connhost

import (
	"os"
	"syscall"
)

// forceKill SIGKILLs the plugin and its process group. The group is signalled only after
// the process itself was (a live or unreaped process keeps its pid, hence its group id,
// from being reused).
func forceKill(proc *os.Process) {
	if err := proc.Signal(syscall.SIGKILL); err != nil {
		return // already reaped
	}
	_ = syscall.Kill(-proc.Pid, syscall.SIGKILL)
}
