// Package procstat reads what the benchmarks measure of a process from /proc: the peak
// resident set of it and of its children (peoplesync and its connector subprocess).
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Peaks is the largest resident set (VmHWM, in KiB) seen of a process and of any of its
// child processes.
type Peaks struct {
	SelfKB, ChildKB int64
}

// Watch polls the peak resident set (VmHWM) of pid and of its child processes every
// 25 ms until stop closes, and returns the largest seen of each. VmHWM is a high-water
// mark, so the last poll before exit misses at most the last 25 ms. (The kernel's maxrss
// from wait4 is no use here: it counts the moment between fork and exec, when the child
// is a copy of the large benchmark process.) Finding the children means reading every
// process's stat file, which cost the 2-core machine ~0.1 CPU-s of an initial sync when
// done every tick: once a child is found, the scan is repeated only twice a second.
func Watch(pid int, stop <-chan struct{}) Peaks {
	var peak Peaks
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	var kids []int
	for n := 0; ; n++ {
		peak.SelfKB = max(peak.SelfKB, vmHWM(pid))
		if len(kids) == 0 || n%20 == 0 {
			kids = children(pid)
		}
		for _, child := range kids {
			peak.ChildKB = max(peak.ChildKB, vmHWM(child))
		}
		select {
		case <-stop:
			return peak
		case <-tick.C:
		}
	}
}

// children lists pid's child processes by scanning /proc (the kernel's per-task
// children file is not always built in).
func children(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command (in parentheses, which may hold spaces): state, ppid.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

func vmHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}
