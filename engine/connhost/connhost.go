// Package connhost starts connector plugins as subprocesses and hands the engine a
// connector.Connector that talks to each over the SDK's gRPC protocol.
//
// A bundled connector runs as the peoplesync binary itself, re-executed as
// "<executable> plugin <name>"; an external one is a binary at a path, optionally pinned
// by its SHA-256. Either way the subprocess's logs arrive in the engine's slog logger,
// and a subprocess that dies turns the read in flight into protocol.ErrIncompleteRead,
// so nothing is concluded (or deleted) from half a directory.
//
// Nothing a plugin does can hold the host: every wait on it has a deadline (start-up and
// handshake, each unary call, Kill), after which the plugin is SIGKILLed and reaped. A
// plugin does not outlive its host either (Pdeathsig on Linux, and a lifeline pipe that
// connector.Serve watches), and it starts with a minimal environment (see pluginEnv), so
// the host's secrets are not in its /proc/PID/environ.
package connhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/protocol"
)

// ErrChecksumMismatch marks an external plugin whose SHA-256 is not the configured one.
var ErrChecksumMismatch = errors.New("plugin checksum mismatch")

// defaultStartTimeout bounds the start-up handshake when ctx has no deadline.
const defaultStartTimeout = 30 * time.Second

// Deadlines of the waits on a plugin. A plugin that stopped answering (SIGSTOP, a
// deadlock) must never hold the host: go-plugin's own Kill waits for a Shutdown call
// with no deadline.
const (
	// killGrace is how long Kill lets go-plugin stop the plugin gracefully (its Shutdown
	// call, then its own 2 s wait for the exit) before the host SIGKILLs it.
	killGrace = 3 * time.Second
	// reapTimeout is how long Kill then waits for the killed process to be reaped.
	reapTimeout = 5 * time.Second
	// Unary calls get these deadlines unless ctx has a shorter one.
	describeTimeout  = 10 * time.Second
	configureTimeout = 30 * time.Second
	checkTimeout     = 60 * time.Second
)

// Spec says which connector plugin to start.
type Spec struct {
	// Name is the connector block's label in the config, used in errors and logs.
	Name string
	// Plugin is a bundled connector's name ("file"), served by the peoplesync binary.
	Plugin string
	// Path, instead of Plugin, is the path of an external plugin binary (the config
	// tells one from the other: config.Connector.External).
	Path string
	// SHA256, when set, is the hex SHA-256 the binary must have; a mismatch fails
	// before the binary runs.
	SHA256 string
}

// Options are how the host starts plugins.
type Options struct {
	// Executable serves the bundled connectors as "<Executable> plugin <name>"; the
	// default is os.Executable().
	Executable string
	// Logger receives the host's and the subprocess's logs; the default is slog.Default().
	Logger *slog.Logger
	// Dir is the subprocess's working directory, so that relative paths in a connector's
	// config resolve against the config file's directory; "" keeps the current one.
	Dir string
}

// Process is a running connector plugin. It is a connector.Connector; Kill stops it.
type Process struct {
	name     string
	path     string
	client   *plugin.Client
	proc     *os.Process
	conn     connector.Connector
	lifeline *os.File // the write end; closed once the process is gone
	gone     chan struct{}
	log      *slog.Logger
	kill     sync.Once
}

var _ connector.Connector = (*Process)(nil)

// Start starts the connector plugin spec names and completes the handshake. ctx bounds
// the start-up only; the process runs until Kill.
func Start(ctx context.Context, spec Spec, opts Options) (*Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("connector %q: starting plugin: %w", spec.Name, err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("connector", spec.Name)

	var cmd *exec.Cmd
	path := spec.Path
	if path != "" {
		cmd = exec.Command(path)
	} else {
		if spec.Plugin == "" {
			return nil, fmt.Errorf("connector %q: no plugin named", spec.Name)
		}
		path = opts.Executable
		if path == "" {
			exe, err := os.Executable()
			if err != nil {
				return nil, fmt.Errorf("connector %q: finding the peoplesync executable to serve bundled connector %q: %w", spec.Name, spec.Plugin, err)
			}
			path = exe
		}
		cmd = exec.Command(path, "plugin", spec.Plugin)
	}
	if err := checkExecutable(path); err != nil {
		return nil, fmt.Errorf("connector %q: plugin %s: %w", spec.Name, path, err)
	}
	if opts.Dir != "" {
		// The binary's path must not depend on the subprocess's working directory.
		abs, err := filepath.Abs(cmd.Path)
		if err != nil {
			return nil, fmt.Errorf("connector %q: plugin %s: %w", spec.Name, path, err)
		}
		cmd.Path = abs
		cmd.Dir = opts.Dir
	}

	var secure *plugin.SecureConfig
	var want []byte
	if spec.SHA256 != "" {
		var err error
		want, err = hex.DecodeString(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(spec.SHA256)), "sha256:"))
		if err != nil || len(want) != sha256.Size {
			return nil, fmt.Errorf("connector %q: sha256 %q is not a SHA-256 (64 hex digits)", spec.Name, spec.SHA256)
		}
		secure = &plugin.SecureConfig{Checksum: want, Hash: sha256.New()}
	}

	timeout := defaultStartTimeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = time.Until(deadline)
	}
	// The lifeline: the plugin reads its end (fd 3) until the host, the only holder of
	// the write end, is gone. os.Pipe's descriptors are close-on-exec, so no other
	// subprocess inherits the write end.
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("connector %q: plugin %s: %w", spec.Name, path, err)
	}
	cmd.ExtraFiles = []*os.File{lifeR}
	// go-plugin appends os.Environ() unless SkipHostEnv; then it adds its cookie and
	// PLUGIN_* variables to these.
	cmd.Env = append(pluginEnv(os.Environ()), protocol.LifelineEnv+"=3")
	setProcAttr(cmd)
	stderr := &tail{max: 2048}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  protocol.Handshake,
		Plugins:          protocol.PluginSet(nil),
		Cmd:              cmd,
		SkipHostEnv:      true,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogger(logger),
		Stderr:           stderr,
		StartTimeout:     timeout,
	})
	p := &Process{name: spec.Name, path: path, client: client, lifeline: lifeW, gone: make(chan struct{}), log: logger}

	type started struct {
		conn connector.Connector
		err  error
	}
	ch := make(chan started, 1)
	go func() {
		// The plugin is forked from this goroutine's thread, and Pdeathsig fires when
		// that thread exits: keep the goroutine on it until the plugin is gone.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		conn, err := dispense(client)
		ch <- started{conn, err}
		<-p.gone
	}()
	var s started
	select {
	case s = <-ch:
	case <-ctx.Done():
		// The handshake cannot be interrupted (it ends within StartTimeout, or when the
		// gRPC connection fails): kill once it ends.
		go func() {
			<-ch
			p.setProc(cmd)
			p.Kill()
		}()
		_ = lifeR.Close()
		return nil, fmt.Errorf("connector %q: starting plugin %s: %w", spec.Name, path, ctx.Err())
	}
	_ = lifeR.Close()
	p.setProc(cmd)
	if s.err != nil {
		p.Kill()
		if errors.Is(s.err, plugin.ErrChecksumsDoNotMatch) {
			got, err := fileSHA256(path)
			if err != nil {
				got = "unknown (" + err.Error() + ")"
			}
			return nil, fmt.Errorf("connector %q: plugin %s: %w: expected sha256 %x, the file has %s",
				spec.Name, path, ErrChecksumMismatch, want, got)
		}
		msg := fmt.Sprintf("connector %q: plugin %s did not start as a peoplesync connector (protocol %d)",
			spec.Name, path, protocol.ProtocolVersion)
		if out := stderr.String(); out != "" {
			return nil, fmt.Errorf("%s: %w; its output ends with:\n%s", msg, s.err, out)
		}
		return nil, fmt.Errorf("%s: %w", msg, s.err)
	}
	p.conn = s.conn
	logger.Debug("connector plugin started", "path", path, "pid", p.Pid())
	return p, nil
}

// setProc records the started process, once dispense has returned (cmd.Start has then
// either run or failed).
func (p *Process) setProc(cmd *exec.Cmd) {
	p.proc = cmd.Process
}

func dispense(client *plugin.Client) (connector.Connector, error) {
	rpc, err := client.Client()
	if err != nil {
		return nil, err
	}
	raw, err := rpc.Dispense(protocol.PluginName)
	if err != nil {
		return nil, fmt.Errorf("dispensing %q: %w", protocol.PluginName, err)
	}
	conn, ok := raw.(connector.Connector)
	if !ok {
		return nil, fmt.Errorf("dispensing %q gave %T, not a connector", protocol.PluginName, raw)
	}
	return conn, nil
}

// checkExecutable explains the usual reasons a binary cannot start.
func checkExecutable(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("the binary does not exist: %w", err)
	case err != nil:
		return err
	case st.IsDir():
		return errors.New("is a directory, not a binary")
	case st.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("the binary is not executable (mode %v)", st.Mode().Perm())
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Name returns the connector's name (its config block label).
func (p *Process) Name() string { return p.name }

// Pid returns the plugin's process ID, or 0 if it never started.
func (p *Process) Pid() int {
	if p.proc == nil {
		return 0
	}
	return p.proc.Pid
}

// Kill stops the process: gracefully if it answers, with SIGKILL (to its process group)
// if it has not exited after killGrace. It returns when the process is gone and reaped,
// or after at most killGrace+reapTimeout, and may be called more than once.
func (p *Process) Kill() {
	p.kill.Do(p.doKill)
}

func (p *Process) doKill() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.client.Kill()
	}()
	defer func() {
		close(p.gone)
		_ = p.lifeline.Close()
	}()
	select {
	case <-done:
		return
	case <-time.After(killGrace):
	}
	if p.proc == nil {
		p.log.Error("connector plugin did not stop, and its process is unknown", "path", p.path)
		return
	}
	p.log.Warn("connector plugin did not stop in time; killing it", "path", p.path, "pid", p.proc.Pid, "after", killGrace)
	forceKill(p.proc)
	select {
	case <-done:
	case <-time.After(reapTimeout):
		p.log.Error("connector plugin was killed but not reaped", "path", p.path, "pid", p.proc.Pid, "after", reapTimeout)
	}
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool { return p.client.Exited() }

// exitedErr is the error of a call made after the process died.
func (p *Process) exitedErr() error {
	return fmt.Errorf("connector %q: its plugin process (%s) has exited", p.name, p.path)
}

// Describe asks the plugin for its name, schema and capabilities.
func (p *Process) Describe(ctx context.Context) (connector.Description, error) {
	if p.Exited() {
		return connector.Description{}, p.exitedErr()
	}
	ctx, cancel := context.WithTimeout(ctx, describeTimeout)
	defer cancel()
	return p.conn.Describe(ctx)
}

// Configure hands the plugin its config block.
func (p *Process) Configure(ctx context.Context, config json.RawMessage) (connector.Diagnostics, error) {
	if p.Exited() {
		return nil, p.exitedErr()
	}
	ctx, cancel := context.WithTimeout(ctx, configureTimeout)
	defer cancel()
	return p.conn.Configure(ctx, config)
}

// Check asks the plugin to verify its source.
func (p *Process) Check(ctx context.Context) error {
	if p.Exited() {
		return p.exitedErr()
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	return p.conn.Check(ctx)
}

// Read streams the plugin's records to emit. A read the plugin did not finish (it
// failed, or its process died) returns an error wrapping protocol.ErrIncompleteRead.
func (p *Process) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	if p.Exited() {
		return connector.ReadResult{}, fmt.Errorf("%w: %w", protocol.ErrIncompleteRead, p.exitedErr())
	}
	res, err := p.conn.Read(ctx, req, emit)
	if err != nil && errors.Is(err, protocol.ErrIncompleteRead) {
		return res, fmt.Errorf("connector %q: %w", p.name, err)
	}
	return res, err
}

// ReadRaw reads from the plugin as Read does, handing over each batch undecoded (see
// protocol.RawBatch).
func (p *Process) ReadRaw(ctx context.Context, req connector.ReadRequest, fn func(*protocol.RawBatch) error) (connector.ReadResult, error) {
	if p.Exited() {
		return connector.ReadResult{}, fmt.Errorf("%w: %w", protocol.ErrIncompleteRead, p.exitedErr())
	}
	rr, ok := p.conn.(protocol.RawReader)
	if !ok {
		return connector.ReadResult{}, fmt.Errorf("connector %q: the plugin client cannot hand over raw batches", p.name)
	}
	res, err := rr.ReadRaw(ctx, req, fn)
	if err != nil && errors.Is(err, protocol.ErrIncompleteRead) {
		return res, fmt.Errorf("connector %q: %w", p.name, err)
	}
	return res, err
}

// tail keeps the end of what a plugin wrote to stderr, for start-up errors.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
