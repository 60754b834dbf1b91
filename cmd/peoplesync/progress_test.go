package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/examples/peoplegen"
)

// progressWorld is a sync of 1200 people whose export arrives through a pipe: the test
// writes 600 of them, so that the connector sends its first 500 and waits for more, and
// writes the rest once it has seen the run's progress.
func progressWorld(t *testing.T) (w *world, cfg string, pipe *fifoLDIF, head, rest []byte) {
	t.Helper()
	w = newWorld(t)
	pipe = w.fifo("people.ldif")
	head, rest = splitLDIF(t, w.ldif(peoplegen.Generate(peoplegen.Defaults(1200))), 600)
	cfg = w.config("sync.hcl", "30s", syncSpec{name: "hr", path: pipe.path, schedule: "@hourly", batch: 100})
	return w, cfg, pipe, head, rest
}

// waitExit waits for the command's exit, failing the test at its deadline.
func waitExit(t *testing.T, cmd *exec.Cmd, done <-chan error) int {
	t.Helper()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode()
	case <-testDeadline(t):
		_ = cmd.Process.Kill()
		t.Fatal("sync did not exit")
	}
	return -1
}

// Off a terminal, a run logs a progress line every --progress-every while it reads, and
// --output json keeps stdout one JSON object and nothing else.
func TestSyncOffATerminalLogsProgress(t *testing.T) {
	t.Parallel()
	w, cfg, pipe, head, rest := progressWorld(t)
	logPath := filepath.Join(w.dir, "stderr.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	var stdout bytes.Buffer
	cmd := exec.Command(w.bin, "--config", cfg, "--progress-every", "20ms", "sync", "--sync", "hr", "--output", "json")
	cmd.Stdout, cmd.Stderr = &stdout, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	progressLines := func() []map[string]any {
		data, _ := os.ReadFile(logPath)
		var out []map[string]any
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "sync progress" {
				out = append(out, m)
			}
		}
		return out
	}
	pipe.write(t, head)
	var seen map[string]any
	eventually(t, "a progress line with the first 500 records read", func() bool {
		for _, l := range progressLines() {
			if l["read"] == 500.0 {
				seen = l
				return true
			}
		}
		return false
	})
	pipe.write(t, rest)
	pipe.close()
	if code := waitExit(t, cmd, done); code != 0 {
		data, _ := os.ReadFile(logPath)
		t.Fatalf("sync exited %d:\n%s", code, tail(string(data), 4000))
	}
	if seen["sync"] != "hr" || seen["phase"] != "reading" || seen["level"] != "INFO" {
		t.Errorf("progress line %v, want sync hr, phase reading, level INFO", seen)
	}
	for _, key := range []string{"mapped", "written", "rate_per_s", "elapsed"} {
		if _, ok := seen[key]; !ok {
			t.Errorf("progress line %v lacks %s", seen, key)
		}
	}

	dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
	var res map[string]any
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout.String())
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("stdout holds more than one JSON value:\n%s", stdout.String())
	}
	if res["processed"] != 1200.0 || res["created"] != 1200.0 {
		t.Errorf("result %v, want 1200 processed and created", res)
	}
}

// On a terminal, the run draws a live line with its counts, and clears it before the
// summary (which goes to stdout, with no progress in it).
func TestSyncOnATerminalShowsLiveProgress(t *testing.T) {
	t.Parallel()
	w, cfg, pipe, head, rest := progressWorld(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 160}); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		screen bytes.Buffer
	)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	shown := func() string {
		mu.Lock()
		defer mu.Unlock()
		return screen.String()
	}
	var stdout bytes.Buffer
	cmd := exec.Command(w.bin, "--config", cfg, "sync", "--sync", "hr")
	cmd.Stdout, cmd.Stderr = &stdout, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close() // the child has it
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	pipe.write(t, head)
	eventually(t, "the live line with the first 500 records read", func() bool {
		return strings.Contains(shown(), "read 500 · mapped 500")
	})
	pipe.write(t, rest)
	pipe.close()
	code := waitExit(t, cmd, done)
	<-copied // the terminal closes with the last process that has it
	out := shown()
	if code != 0 {
		t.Fatalf("sync exited %d; terminal:\n%q", code, tail(out, 4000))
	}
	live := strings.LastIndex(out, " · mapped ")
	if live < 0 || !strings.Contains(out[:live], "hr ") {
		t.Fatalf("terminal shows no live line:\n%q", tail(out, 4000))
	}
	// The last frame is erased: cursor up, erase to the end of the screen.
	if !strings.Contains(out[live:], "\x1b[J") {
		t.Errorf("the live line is not cleared at the end:\n%q", tail(out, 2000))
	}
	// The summary shows alone: the run's log line, which says the same, is a debug one.
	if strings.Contains(out, `msg="sync run finished"`) {
		t.Errorf("the terminal shows the run's log line above its summary:\n%q", tail(out, 4000))
	}
	if s := stdout.String(); !strings.Contains(s, `sync "hr" run`) || strings.Contains(s, "mapped") || strings.Contains(s, "\x1b") {
		t.Errorf("stdout holds more than the summary:\n%q", s)
	}
}

// The live line's counts: a percentage when the total is known (never past 100, as a
// directory may have grown), thousands separated, the phase once reading is over.
func TestProgressLineText(t *testing.T) {
	v := &progressView{start: time.Now(), now: time.Now}
	for _, c := range []struct {
		p    engine.Progress
		want string
	}{
		{engine.Progress{Phase: engine.PhaseReading, Total: 1200, Read: 700, Mapped: 600, Written: 12},
			"  50%  read 700 · mapped 600 · written 12 · 0s"},
		{engine.Progress{Phase: engine.PhaseDeleting, Total: 1000, Read: 1500, Mapped: 1500, Written: 1234567},
			" 100%  read 1,500 · mapped 1,500 · written 1,234,567 · 0s · deleting"},
		{engine.Progress{Phase: engine.PhaseReading, Read: 500, Mapped: 0},
			" read 500 · mapped 0 · written 0 · 0s"},
	} {
		v.last.Store(&c.p)
		if got := v.describe(decor.Statistics{}); got != c.want {
			t.Errorf("line for %+v:\n got %q\nwant %q", c.p, got, c.want)
		}
	}
}

// The live line's rate is the current one and its time goes on: a source that stalls
// after a burst reads 0/s within engine.RateWindow, not the burst's rate for ever.
func TestProgressLineWhileTheSourceStalls(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	now := t0
	v := &progressView{now: func() time.Time { return now }, start: t0}
	v.rate.Add(t0, 0)
	for i := int64(1); i <= 10; i++ { // 10,000 records in 2 s
		now = now.Add(200 * time.Millisecond)
		v.update(engine.Progress{Sync: "pipe", Phase: engine.PhaseReading, Read: i * 1000, Mapped: i * 1000})
	}
	for _, c := range []struct {
		after time.Duration
		want  string
	}{
		{0, " · 5,000/s · 2s"},
		{3 * time.Second, " · 2,000/s · 5s"}, // the last 5 s held the burst
		{10 * time.Second, " · 0/s · 15s"},
	} {
		now = now.Add(c.after)
		if got := v.describe(decor.Statistics{}); !strings.HasSuffix(got, c.want) {
			t.Errorf("%v into the stall: %q, want it to end %q", c.after, got, c.want)
		}
	}
}
