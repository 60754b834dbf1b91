package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine/mapper/mappertest"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/engine/store/postgres"
	"github.com/peoplesync/peoplesync/examples/peoplegen"
)

// The serve tests run the real peoplesync binary, several replicas on one database.

var (
	buildOnce sync.Once
	builtDir  string
	buildErr  error
)

// binaries builds the peoplesync binary and the default mapping module once per test
// binary and returns their paths.
func binaries(t *testing.T) (bin, wasm string) {
	t.Helper()
	buildOnce.Do(func() {
		builtDir, buildErr = os.MkdirTemp("", "peoplesync-serve-test-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(builtDir, "peoplesync"), ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		buildErr = mappertest.BuildFile("../../mappings/default", filepath.Join(builtDir, "default.wasm"))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(builtDir, "peoplesync"), filepath.Join(builtDir, "default.wasm")
}

// world is one test's database, directory and store handle.
type world struct {
	t     *testing.T
	dir   string
	dsn   string
	store *postgres.Store
	bin   string
	wasm  string
	opts  peoplegen.Options
}

func newWorld(t *testing.T) *world {
	t.Helper()
	bin, wasm := binaries(t)
	w := &world{t: t, dir: t.TempDir(), dsn: pgtest.NewDatabase(t), bin: bin, wasm: wasm, opts: peoplegen.Defaults(0)}
	st, err := postgres.Open(t.Context(), w.dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.store = st
	return w
}

// ldif renders people as an LDIF export.
func (w *world) ldif(people []peoplegen.Person) []byte {
	var buf bytes.Buffer
	if err := peoplegen.WriteLDIF(&buf, w.opts, people); err != nil {
		w.t.Fatal(err)
	}
	return buf.Bytes()
}

func (w *world) writeFile(name string, data []byte) string {
	path := filepath.Join(w.dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		w.t.Fatal(err)
	}
	return path
}

// syncSpec is one sync block of a test config.
type syncSpec struct {
	name, path, schedule string
	batch                int
	maxPercent           int
	// format is the export's format ("" is ldif), idAttribute its ID attribute ("" is
	// the file connector's default).
	format, idAttribute string
	// join, if set, makes the sync one that joins the people other syncs create, by
	// these keys, and never creates or ends anyone; wins lists the fields in which the
	// sync comes first (the others follow the order of the sync blocks).
	join, wins []string
}

// config writes a config with the given syncs and lease and returns its path.
func (w *world) config(name, lease string, syncs ...syncSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "store {\n  url = %q\n  lease_ttl = %q\n}\n", w.dsn, lease)
	fmt.Fprintf(&b, "mapping \"m\" {\n  module = %q\n  settings = { email_domain = \"example.com\" }\n}\n", w.wasm)
	var names []string
	wins := map[string][]string{} // field: the syncs that come first in it
	for _, s := range syncs {
		if s.batch == 0 {
			s.batch = 1000
		}
		if s.maxPercent == 0 {
			s.maxPercent = 10
		}
		if s.format == "" {
			s.format = "ldif"
		}
		idAttr := ""
		if s.idAttribute != "" {
			idAttr = fmt.Sprintf("\n    id_attribute = %q", s.idAttribute)
		}
		people := ""
		if len(s.join) > 0 {
			keys, _ := json.Marshal(s.join)
			people = fmt.Sprintf("\n  people {\n    create = false\n    end    = false\n    join   = %s\n  }", keys)
		}
		fmt.Fprintf(&b, `connector %[1]q {
  plugin = "file"
  config {
    path   = %[2]q
    format = %[6]q%[7]s
  }
}
sync %[1]q {
  connector  = connector.%[1]s
  mapping    = mapping.m
  schedule   = %[3]q
  batch_size = %[4]d
  timeout    = "30s"
  deletion {
    max_percent = %[5]d
  }%[8]s
}
`, s.name, s.path, s.schedule, s.batch, s.maxPercent, s.format, idAttr, people)
		names = append(names, s.name)
		for _, f := range s.wins {
			wins[f] = append(wins[f], s.name)
		}
	}
	if len(wins) > 0 {
		all, _ := json.Marshal(names)
		fmt.Fprintf(&b, "precedence {\n  default = %s\n  fields = {\n", all)
		for _, f := range slices.Sorted(maps.Keys(wins)) {
			order, _ := json.Marshal(wins[f])
			fmt.Fprintf(&b, "    %s = %s\n", f, order)
		}
		b.WriteString("  }\n}\n")
	}
	return w.writeFile(name, []byte(b.String()))
}

// replica is one running `peoplesync serve`.
type replica struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func (w *world) start(cfg, name string) *replica {
	w.t.Helper()
	logPath := filepath.Join(w.dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		w.t.Fatal(err)
	}
	cmd := exec.Command(w.bin, "--config", cfg, "--log-format", "json", "--log-level", "debug",
		"serve", "--listen", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a kill takes its connector subprocesses with it, as a
	// container's end does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	r := &replica{t: w.t, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		logFile.Close()
		close(r.done)
	}()
	w.t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
		if w.t.Failed() {
			data, _ := os.ReadFile(logPath)
			w.t.Logf("log of %s:\n%s", name, tail(interesting(string(data)), 8000))
		}
	})
	return r
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func (r *replica) signal(sig syscall.Signal) {
	r.t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("signal %v: %v", sig, err)
	}
}

// exit waits for the process to exit and returns its exit code.
func (r *replica) exit() int {
	r.t.Helper()
	start := time.Now()
	select {
	case <-r.done:
	case <-testDeadline(r.t):
		r.t.Fatalf("replica %d did not exit in %v", r.cmd.Process.Pid, time.Since(start).Round(time.Millisecond))
	}
	return r.cmd.ProcessState.ExitCode()
}

// logLines returns the replica's JSON log lines with the given msg.
func (r *replica) logLines(msg string) []map[string]any {
	data, _ := os.ReadFile(r.log)
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// addr is the replica's HTTP address, once it serves.
func (r *replica) addr() string {
	r.t.Helper()
	var addr string
	eventually(r.t, "the replica to serve", func() bool {
		if l := r.logLines("serving"); len(l) > 0 {
			addr, _ = l[0]["addr"].(string)
		}
		return addr != ""
	})
	return addr
}

// testDeadline fires shortly before the test binary's deadline (go test -timeout). The
// serve tests wait for subprocesses on machines that other test suites load, where no
// fixed wait is long enough (a replica's first run under -race on a busy 2-core machine
// has taken over 20 s); a wait that never ends still fails its own test, saying what it
// waited for, before the binary's timeout ends every test with a goroutine dump. Without
// a deadline (-timeout 0) it never fires.
func testDeadline(t *testing.T) <-chan time.Time {
	d, ok := t.Deadline()
	if !ok {
		return nil
	}
	left := time.Until(d)
	return time.After(left - min(left/10, 10*time.Second))
}

// eventually polls cond until it holds, failing the test at its deadline. A wait longer
// than 10 s is logged: it shows how loaded the machine was.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	end := testDeadline(t)
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for !cond() {
		select {
		case <-poll.C:
		case <-end:
			t.Fatalf("gave up after %v waiting for %s", time.Since(start).Round(time.Millisecond), what)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Logf("waited %v for %s", d.Round(time.Millisecond), what)
	}
}

// waitUntil polls cond until it holds or d has passed. (The fault tests use it; the serve
// tests wait with eventually.)
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *world) runs(sync string) []store.RunInfo {
	w.t.Helper()
	runs, err := w.store.Runs(context.Background(), sync, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	return runs
}

func (w *world) live(sync string) int {
	w.t.Helper()
	n := 0
	if err := w.store.LiveExternalIDs(context.Background(), sync, func(string) error { n++; return nil }); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func (w *world) locks() []store.LockInfo {
	w.t.Helper()
	l, err := w.store.Locks(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return l
}

// lockHolderPID returns the PID in the sync's live lock holder ("host:pid"), or 0.
func (w *world) lockHolderPID(sync string) int {
	for _, l := range w.locks() {
		if l.Sync == sync && l.Live {
			pid, _ := strconv.Atoi(l.Holder[strings.LastIndexByte(l.Holder, ':')+1:])
			return pid
		}
	}
	return 0
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestServeThreeReplicasRunEachTickOnce: three replicas, two syncs ticking every second:
// every tick of each sync runs exactly once across the replicas, the syncs run in
// parallel, and /healthz, /readyz, /metrics, /status and `peoplesync runs` tell the story.
func TestServeThreeReplicasRunEachTickOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	people := peoplegen.Generate(peoplegen.Defaults(400))
	path := w.writeFile("people.ldif", w.ldif(people))
	cfg := w.config("sync.hcl", "10s",
		syncSpec{name: "alpha", path: path, schedule: "@every 1s", batch: 50},
		syncSpec{name: "beta", path: path, schedule: "@every 1s", batch: 50})
	var reps []*replica
	for i := range 3 {
		reps = append(reps, w.start(cfg, fmt.Sprintf("replica%d", i)))
	}
	const wantTicks = 6
	eventually(t, fmt.Sprintf("%d finished runs of each sync", wantTicks), func() bool {
		for _, s := range []string{"alpha", "beta"} {
			n := 0
			for _, r := range w.runs(s) {
				if r.FinishedAt != nil {
					n++
				}
			}
			if n < wantTicks {
				return false
			}
		}
		return true
	})
	addr := reps[0].addr()
	for _, r := range reps {
		r.signal(syscall.SIGTERM)
	}
	for _, r := range reps {
		if code := r.exit(); code != 0 {
			t.Errorf("replica exited %d after SIGTERM", code)
		}
	}

	holders := map[string]bool{}
	var spans [][2]time.Time
	for _, s := range []string{"alpha", "beta"} {
		runs := w.runs(s)
		ticks := map[time.Time]int{}
		var first, last time.Time
		for _, r := range runs {
			if r.Tick == nil {
				t.Fatalf("%s run %d has no tick", s, r.ID)
			}
			ticks[r.Tick.UTC()]++
			holders[r.Holder] = true
			if r.Status != store.StatusSucceeded && !(r.Status == store.StatusFailed && r.Message == "interrupted by shutdown") {
				t.Errorf("%s run %d: %s %q", s, r.ID, r.Status, r.Message)
			}
			if r.FinishedAt == nil {
				t.Errorf("%s run %d left %s", s, r.ID, r.Status)
			} else {
				spans = append(spans, [2]time.Time{r.StartedAt, *r.FinishedAt})
			}
			if first.IsZero() || r.Tick.Before(first) {
				first = *r.Tick
			}
			if r.Tick.After(last) {
				last = *r.Tick
			}
		}
		// Every second between the first and the last tick ran once, unless a run of
		// the sync was still going through that tick's second (under load a run can take
		// longer than the 1 s schedule: its next tick is then skipped, never doubled).
		busy := func(tk time.Time) bool {
			for _, r := range runs {
				if r.FinishedAt != nil && r.StartedAt.Before(tk.Add(time.Second)) && r.FinishedAt.After(tk) {
					return true
				}
			}
			return false
		}
		for tk := first; !tk.After(last); tk = tk.Add(time.Second) {
			n := ticks[tk.UTC()]
			if n > 1 || (n == 0 && !busy(tk)) {
				t.Errorf("%s tick %s ran %d times, want 1", s, tk.Format(time.RFC3339), n)
			}
		}
		t.Logf("%s: %d runs, ticks %s … %s", s, len(runs), first.Format(time.TimeOnly), last.Format(time.TimeOnly))
		if n := w.live(s); n != len(people) {
			t.Errorf("%s has %d live profiles, want %d", s, n, len(people))
		}
	}
	overlap := false
	for i := range spans {
		for j := i + 1; j < len(spans); j++ {
			if spans[i][0].Before(spans[j][1]) && spans[j][0].Before(spans[i][1]) {
				overlap = true
			}
		}
	}
	if !overlap {
		t.Error("no two runs of the two syncs overlapped in time")
	}
	t.Logf("runs by %d replicas", len(holders))
	if l := w.locks(); len(l) != 0 {
		t.Errorf("locks left after shutdown: %+v", l)
	}
	_ = addr // the server is gone; the live endpoints are checked in TestServeEndpoints.
}

// TestServeEndpoints: probes, metrics, status and `peoplesync runs` of a live replica.
func TestServeEndpoints(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	path := w.writeFile("people.ldif", w.ldif(peoplegen.Generate(peoplegen.Defaults(50))))
	cfg := w.config("sync.hcl", "10s", syncSpec{name: "alpha", path: path, schedule: "@every 1s"})
	r := w.start(cfg, "replica")
	base := "http://" + r.addr()
	eventually(t, "a succeeded run", func() bool {
		runs := w.runs("alpha")
		return len(runs) > 0 && runs[len(runs)-1].Status == store.StatusSucceeded
	})
	if code, body := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz: %d %s", code, body)
	}
	// The run is recorded in the store before the replica counts it in its metrics.
	var metrics string
	eventually(t, "/metrics to count the succeeded run", func() bool {
		_, metrics = get(t, base+"/metrics")
		return strings.Contains(metrics, `peoplesync_runs_total{mode="full",status="succeeded",sync="alpha"}`)
	})
	for _, want := range []string{
		`peoplesync_runs_total{mode="full",status="succeeded",sync="alpha"}`,
		`peoplesync_records_total{action="created",sync="alpha"} 50`,
		`peoplesync_run_duration_seconds_count{mode="full",sync="alpha"}`,
		`peoplesync_last_success_timestamp_seconds{mode="full",sync="alpha"}`,
		`peoplesync_lock_held{sync="alpha"}`,
		`peoplesync_last_run_record_errors{mode="full",sync="alpha"} 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	_, body := get(t, base+"/status")
	var st statusJSON
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/status: %v\n%s", err, body)
	}
	if !strings.Contains(body, `"last_record_errors": 0`) {
		t.Errorf("/status has no last_record_errors of the job: %s", body)
	}
	if len(st.Jobs) != 1 || st.Jobs[0].Sync != "alpha" || st.Jobs[0].Timezone != "UTC" || st.Jobs[0].NextTick.IsZero() ||
		!strings.HasSuffix(st.Holder, ":"+strconv.Itoa(r.cmd.Process.Pid)) {
		t.Errorf("/status: %s", body)
	}
	// `peoplesync runs` names the lock holder while a run holds it.
	eventually(t, "`peoplesync runs` to show the replica holding alpha's lock", func() bool {
		_, out, _ := cli(t, "--config", cfg, "runs", "--limit", "3")
		return strings.Contains(out, "LOCK") && strings.Contains(out, fmt.Sprintf(":%d", r.cmd.Process.Pid)) &&
			strings.Contains(out, "held")
	})
	r.signal(syscall.SIGTERM)
	if code := r.exit(); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}

// fifoLDIF makes a named pipe that a replica's connector reads as its export, so that
// the test decides when the run proceeds. feed writes to it once a reader opened it.
type fifoLDIF struct {
	path string
	mu   sync.Mutex
	f    *os.File
	open chan struct{}
}

func (w *world) fifo(name string) *fifoLDIF {
	path := filepath.Join(w.dir, name)
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		w.t.Fatal(err)
	}
	p := &fifoLDIF{path: path, open: make(chan struct{})}
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0) // blocks until a reader opens it
		if err != nil {
			return
		}
		p.mu.Lock()
		p.f = f
		p.mu.Unlock()
		close(p.open)
	}()
	w.t.Cleanup(func() {
		p.close()
		// Unblock the opener if nobody ever read the pipe.
		if f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	return p
}

func (p *fifoLDIF) write(t *testing.T, data []byte) {
	t.Helper()
	select {
	case <-p.open:
	case <-testDeadline(t):
		t.Fatal("no connector opened the export pipe")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.f.Write(data); err != nil {
		t.Fatalf("write to the export pipe: %v", err)
	}
}

func (p *fifoLDIF) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
}

// splitLDIF splits an LDIF export before its n-th record (0-based).
func splitLDIF(t *testing.T, data []byte, n int) ([]byte, []byte) {
	t.Helper()
	at := 0
	for i := 0; i <= n; i++ {
		j := bytes.Index(data[at:], []byte("\ndn: "))
		if j < 0 {
			t.Fatalf("export has fewer than %d records", n+1)
		}
		at += j + 1
	}
	return data[:at], data[at:]
}

// TestServeStoppedHolderLosesItsLock is the SIGSTOP test: the holder is paused past its
// lease mid-run, a second replica takes over and finishes, and when the first resumes its
// next write is refused (lock lost) and its run stops; the daemon lives on.
func TestServeStoppedHolderLosesItsLock(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	people := peoplegen.Generate(peoplegen.Defaults(1200))
	pipe := w.fifo("pipe.ldif")
	cfgA := w.config("a.hcl", "2s", syncSpec{name: "hr", path: pipe.path, schedule: "@every 1s", batch: 100})
	a := w.start(cfgA, "a")

	// The connector sends records 500 to a message: 1100 written lets 1000 through.
	head, _ := splitLDIF(t, w.ldif(people), 1100)
	pipe.write(t, head)
	eventually(t, "the first batches to commit", func() bool { return w.live("hr") >= 100 })
	if pid := w.lockHolderPID("hr"); pid != a.cmd.Process.Pid {
		t.Fatalf("lock held by pid %d, want replica a (%d)", pid, a.cmd.Process.Pid)
	}
	a.signal(syscall.SIGSTOP)

	b := w.start(w.config("b.hcl", "2s", syncSpec{name: "hr", path: w.writeFile("people.ldif", w.ldif(people)), schedule: "@every 1s", batch: 100}), "b")
	eventually(t, "replica b to take over and finish a run", func() bool {
		for _, r := range w.runs("hr") {
			if r.Status == store.StatusSucceeded && strings.HasSuffix(r.Holder, fmt.Sprintf(":%d", b.cmd.Process.Pid)) {
				return true
			}
		}
		return false
	})
	// b, not a, may hold it from here on: stop b's ticks from racing a's resumed run.
	b.signal(syscall.SIGTERM)
	if code := b.exit(); code != 0 {
		t.Errorf("replica b exited %d", code)
	}

	stale := append([]peoplegen.Person(nil), people...)
	for i := range stale {
		stale[i].Title = "Stale Writer"
	}
	_, rest := splitLDIF(t, w.ldif(stale), 1100)
	a.signal(syscall.SIGCONT)
	pipe.write(t, rest)
	pipe.close()
	eventually(t, "replica a to report its lost lock", func() bool {
		return len(a.logLines("the run lost its lock to another replica and stopped")) > 0
	})
	ps, err := w.store.ListProfiles(context.Background(), "hr", 5000)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != len(people) {
		t.Errorf("%d profiles, want %d", len(ps), len(people))
	}
	for _, p := range ps {
		if p.Profile.Get("title") == "Stale Writer" {
			t.Fatalf("the stale holder wrote %s after losing its lock", p.ExternalID)
		}
	}
	aRun := w.runs("hr")[len(w.runs("hr"))-1] // the oldest: a's
	if !strings.HasSuffix(aRun.Holder, fmt.Sprintf(":%d", a.cmd.Process.Pid)) || aRun.Status != store.StatusAbandoned {
		t.Errorf("a's run: %+v, want abandoned", aRun)
	}
	// The daemon lives on, and drains cleanly.
	select {
	case <-a.done:
		t.Fatal("replica a exited after losing its lock")
	default:
	}
	a.signal(syscall.SIGTERM)
	if code := a.exit(); code != 0 {
		t.Errorf("replica a exited %d", code)
	}
	for _, r := range w.runs("hr") {
		if r.Status == store.StatusRunning {
			t.Errorf("run %d left running", r.ID)
		}
	}
}

// TestServeKilledHolderConverges: kill -9 of the holder mid-run leaves the store
// consistent; the run is marked abandoned and a later tick on another replica converges.
func TestServeKilledHolderConverges(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	people := peoplegen.Generate(peoplegen.Defaults(1200))
	pipe := w.fifo("pipe.ldif")
	a := w.start(w.config("a.hcl", "2s", syncSpec{name: "hr", path: pipe.path, schedule: "@every 1s", batch: 100}), "a")
	head, _ := splitLDIF(t, w.ldif(people), 1100)
	pipe.write(t, head)
	eventually(t, "the first batches to commit", func() bool { return w.live("hr") >= 100 })
	if err := syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.exit()
	pipe.close()
	partial := w.live("hr")
	if partial%100 != 0 {
		t.Errorf("%d profiles after the kill: not whole batches of 100", partial)
	}

	b := w.start(w.config("b.hcl", "2s", syncSpec{name: "hr", path: w.writeFile("people.ldif", w.ldif(people)), schedule: "@every 1s", batch: 100}), "b")
	eventually(t, "a later tick to converge", func() bool {
		runs := w.runs("hr")
		return len(runs) > 1 && runs[0].Status == store.StatusSucceeded
	})
	b.signal(syscall.SIGTERM)
	if code := b.exit(); code != 0 {
		t.Errorf("replica b exited %d", code)
	}
	if n := w.live("hr"); n != len(people) {
		t.Errorf("%d live profiles, want %d", n, len(people))
	}
	runs := w.runs("hr")
	if killed := runs[len(runs)-1]; killed.Status != store.StatusAbandoned {
		t.Errorf("the killed run is %s, want abandoned", killed.Status)
	}
	for _, r := range runs {
		if r.Status == store.StatusRunning {
			t.Errorf("run %d left running", r.ID)
		}
	}
	if l := w.locks(); len(l) != 0 {
		t.Errorf("locks left: %+v", l)
	}
}

// TestServeSIGTERMDrains: SIGTERM mid-run commits the batch in flight, records the run as
// interrupted, releases the lock and exits 0.
func TestServeSIGTERMDrains(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	people := peoplegen.Generate(peoplegen.Defaults(1200))
	pipe := w.fifo("pipe.ldif")
	a := w.start(w.config("a.hcl", "10s", syncSpec{name: "hr", path: pipe.path, schedule: "@every 1s", batch: 100}), "a")
	head, _ := splitLDIF(t, w.ldif(people), 1100)
	pipe.write(t, head)
	eventually(t, "the first batches to commit", func() bool { return w.live("hr") >= 100 })
	a.signal(syscall.SIGTERM)
	if code := a.exit(); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	runs := w.runs("hr")
	if len(runs) != 1 || runs[0].Status != store.StatusFailed || runs[0].Message != "interrupted by shutdown" || runs[0].FinishedAt == nil {
		t.Fatalf("runs %+v, want one failed run \"interrupted by shutdown\"", runs)
	}
	if l := w.locks(); len(l) != 0 {
		t.Errorf("locks left after SIGTERM: %+v", l)
	}
	// Reading stopped at a batch boundary: only whole batches were written.
	if n := w.live("hr"); n%100 != 0 || n == 0 || n > 1000 {
		t.Errorf("%d profiles, want whole batches of 100 of the 1000 records read", n)
	}
}

// interesting drops the lines of a replica's log that say nothing about a failure.
func interesting(log string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(log, "\n") {
		if !strings.Contains(l, "tick skipped") && !strings.Contains(l, `"plugin`) && !strings.Contains(l, "waiting for RPC") {
			b.WriteString(l)
		}
	}
	return b.String()
}
