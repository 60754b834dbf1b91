//go:build !unix

package connhost

import (
	"os"
	"os/exec"
)

func setProcAttr(*exec.Cmd) {}

func forceKill(proc *os.Process) { _ = proc.Kill() }
