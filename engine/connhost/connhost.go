// Package connhost starts connector plugins as subprocesses and hands the engine a
// connector.Connector that talks to each over the SDK's gRPC protocol.
//
// A bundled connector runs as the peoplesync binary itself, re-executed as
// "<executable> plugin <name>"; an external one is a binary at a path, optionally pinned
// by its SHA-256. Either way the subprocess's logs arrive in the engine's slog logger,
// and a subprocess that dies turns the read in flight into connector.ErrIncompleteRead,
// so nothing is concluded (or deleted) from half a directory.
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
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// ErrChecksumMismatch marks an external plugin whose SHA-256 is not the configured one.
var ErrChecksumMismatch = errors.New("plugin checksum mismatch")

// defaultStartTimeout bounds the start-up handshake when ctx has no deadline.
const defaultStartTimeout = 30 * time.Second

// Spec says which connector plugin to start.
type Spec struct {
	// Name is the connector block's label in the config, used in errors and logs.
	Name string
	// Plugin is a bundled connector's name ("file"), or the path of an external plugin
	// binary: a value with a path separator, or starting with ".", is a path.
	Plugin string
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
	name   string
	path   string
	client *plugin.Client
	conn   connector.Connector
	kill   sync.Once
}

var _ connector.Connector = (*Process)(nil)

// IsPath reports whether a Spec.Plugin value names an external binary rather than a
// bundled connector.
func IsPath(pluginName string) bool {
	return strings.ContainsRune(pluginName, '/') || strings.ContainsRune(pluginName, filepath.Separator) ||
		strings.HasPrefix(pluginName, ".")
}

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
	path := spec.Plugin
	if IsPath(spec.Plugin) {
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
	stderr := &tail{max: 2048}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  connector.Handshake,
		Plugins:          connector.PluginSet(nil),
		Cmd:              cmd,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogger(logger),
		Stderr:           stderr,
		StartTimeout:     timeout,
	})

	type started struct {
		conn connector.Connector
		err  error
	}
	ch := make(chan started, 1)
	go func() {
		conn, err := dispense(client)
		ch <- started{conn, err}
	}()
	var s started
	select {
	case s = <-ch:
	case <-ctx.Done():
		go func() { // the handshake cannot be interrupted: kill once it ends
			<-ch
			client.Kill()
		}()
		return nil, fmt.Errorf("connector %q: starting plugin %s: %w", spec.Name, path, ctx.Err())
	}
	if s.err != nil {
		client.Kill()
		if errors.Is(s.err, plugin.ErrChecksumsDoNotMatch) {
			got, err := fileSHA256(path)
			if err != nil {
				got = "unknown (" + err.Error() + ")"
			}
			return nil, fmt.Errorf("connector %q: plugin %s: %w: expected sha256 %x, the file has %s",
				spec.Name, path, ErrChecksumMismatch, want, got)
		}
		msg := fmt.Sprintf("connector %q: plugin %s did not start as a peoplesync connector (protocol %d)",
			spec.Name, path, connector.ProtocolVersion)
		if out := stderr.String(); out != "" {
			return nil, fmt.Errorf("%s: %w; its output ends with:\n%s", msg, s.err, out)
		}
		return nil, fmt.Errorf("%s: %w", msg, s.err)
	}
	logger.Debug("connector plugin started", "path", path)
	return &Process{name: spec.Name, path: path, client: client, conn: s.conn}, nil
}

func dispense(client *plugin.Client) (connector.Connector, error) {
	rpc, err := client.Client()
	if err != nil {
		return nil, err
	}
	raw, err := rpc.Dispense(connector.PluginName)
	if err != nil {
		return nil, fmt.Errorf("dispensing %q: %w", connector.PluginName, err)
	}
	conn, ok := raw.(connector.Connector)
	if !ok {
		return nil, fmt.Errorf("dispensing %q gave %T, not a connector", connector.PluginName, raw)
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

// Kill stops the process: gracefully if it answers, forcibly after a grace period. It
// returns when the process is gone and may be called more than once.
func (p *Process) Kill() {
	p.kill.Do(p.client.Kill)
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
	return p.conn.Describe(ctx)
}

// Configure hands the plugin its config block.
func (p *Process) Configure(ctx context.Context, config json.RawMessage) (connector.Diagnostics, error) {
	if p.Exited() {
		return nil, p.exitedErr()
	}
	return p.conn.Configure(ctx, config)
}

// Check asks the plugin to verify its source.
func (p *Process) Check(ctx context.Context) error {
	if p.Exited() {
		return p.exitedErr()
	}
	return p.conn.Check(ctx)
}

// Read streams the plugin's records to emit. A read the plugin did not finish (it
// failed, or its process died) returns an error wrapping connector.ErrIncompleteRead.
func (p *Process) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	if p.Exited() {
		return connector.ReadResult{}, fmt.Errorf("%w: %w", connector.ErrIncompleteRead, p.exitedErr())
	}
	res, err := p.conn.Read(ctx, req, emit)
	if err != nil && errors.Is(err, connector.ErrIncompleteRead) {
		return res, fmt.Errorf("connector %q: %w", p.name, err)
	}
	return res, err
}

// ReadRaw reads from the plugin as Read does, handing over each batch undecoded (see
// connector.RawBatch).
func (p *Process) ReadRaw(ctx context.Context, req connector.ReadRequest, fn func(*connector.RawBatch) error) (connector.ReadResult, error) {
	if p.Exited() {
		return connector.ReadResult{}, fmt.Errorf("%w: %w", connector.ErrIncompleteRead, p.exitedErr())
	}
	rr, ok := p.conn.(connector.RawReader)
	if !ok {
		return connector.ReadResult{}, fmt.Errorf("connector %q: the plugin client cannot hand over raw batches", p.name)
	}
	res, err := rr.ReadRaw(ctx, req, fn)
	if err != nil && errors.Is(err, connector.ErrIncompleteRead) {
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
