package connhost_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine/connhost"
)

// gone reports whether pid has exited (a zombie counts: it runs no more code).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}

// killLater SIGKILLs pid at the end of the test, should the code under test have left it.
func killLater(t *testing.T, pid int) {
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
}

func TestKillOfAStoppedPluginHasADeadline(t *testing.T) {
	p := start(t, connhost.Spec{Name: "frozen", Plugin: "hanger"}, nil)
	pid := p.Pid()
	killLater(t, pid)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	done := make(chan struct{})
	go func() { p.Kill(); close(done) }()
	// Kill's own bound is killGrace+reapTimeout (8 s); leave room for a busy machine.
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Kill of a stopped plugin did not return within 20 s")
	}
	t.Logf("Kill of a stopped plugin returned after %v", time.Since(began).Round(time.Millisecond))
	if !gone(pid) {
		t.Errorf("plugin %d still runs after Kill", pid)
	}
	if !p.Exited() {
		t.Error("Exited() = false after Kill")
	}
}

// startHost runs this test binary as a host of plugin and returns the host and the pid it
// printed for its plugin.
func startHost(t *testing.T, plugin string) (*exec.Cmd, int) {
	t.Helper()
	host := exec.Command(os.Args[0])
	host.Env = append(os.Environ(), hostEnv+"="+plugin)
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	host.Stderr = &stderr
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Process.Kill(); _ = host.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = host.Process.Kill()
		_ = host.Wait()
		t.Fatalf("host: %v; stderr: %s", err, stderr.String())
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "pid ")))
	if err != nil || pid <= 0 {
		t.Fatalf("host printed %q", line)
	}
	killLater(t, pid)
	return host, pid
}

func killHost(t *testing.T, host *exec.Cmd) {
	t.Helper()
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if err := host.Wait(); !errors.As(err, &exit) {
		t.Fatalf("host Wait = %v", err)
	}
}

func TestPluginEndsWithItsKilledHost(t *testing.T) {
	host, pid := startHost(t, "file")
	if gone(pid) {
		t.Fatal("the plugin is not running before its host is killed")
	}
	killHost(t, host)
	eventually(t, "the plugin of a SIGKILLed host exits", func() bool { return gone(pid) })
}

// A plugin started through a wrapper that does not exec is the wrapper's child: the
// kernel's Pdeathsig kills only the wrapper, and the plugin must see the lifeline close.
func TestWrappedPluginEndsWithItsKilledHost(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	script := wrapper(t, `"$BIN" plugin file &
echo $! > `+pidFile+`
wait`)
	host, _ := startHost(t, script)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	killLater(t, pid)
	killHost(t, host)
	eventually(t, "the wrapped plugin of a SIGKILLed host exits", func() bool { return gone(pid) })
}

func TestPluginEnvironmentHoldsNoHostSecrets(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://sync:hunter2@db/people")
	t.Setenv("LDAP_PASSWORD", "s3cret-bind")
	t.Setenv("LC_ALL", "C.UTF-8")
	p := start(t, connhost.Spec{Name: "hr", Plugin: "file"}, nil)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for kv := range strings.SplitSeq(string(b), "\x00") {
		if name, value, ok := strings.Cut(kv, "="); ok {
			env[name] = value
		}
	}
	for _, secret := range []string{"hunter2", "s3cret-bind"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the plugin's environment holds %q", secret)
		}
	}
	for _, name := range []string{"DATABASE_URL", "LDAP_PASSWORD"} {
		if _, ok := env[name]; ok {
			t.Errorf("the plugin's environment has %s", name)
		}
	}
	// What it needs is there: the locale, and go-plugin's own variables.
	for _, name := range []string{"LC_ALL", "PATH", "PEOPLESYNC_PLUGIN", "PLUGIN_PROTOCOL_VERSIONS"} {
		if _, ok := env[name]; !ok {
			t.Errorf("the plugin's environment lacks %s", name)
		}
	}
	if d, err := p.Describe(t.Context()); err != nil || d.Name != "file" {
		t.Errorf("Describe = %+v, %v", d, err)
	}
}
