// Command peoplesync keeps a People Service's profile store in step with a company's
// directories. It is thin: it parses flags, calls the packages that do the work, prints.
//
//	peoplesync validate                 check sync.hcl, its connectors and mapping modules
//	peoplesync plan --sync NAME         what a sync would change, writing nothing
//	peoplesync sync --sync NAME         run a sync once now
//	peoplesync migrate                  bring the store's schema up to date
//	peoplesync runs                     recent runs
//	peoplesync profiles --sync NAME     a few synced profiles
//	peoplesync mapping test ...         run a mapping module over a file of records
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/spf13/cobra"

	"github.com/peoplesync/peoplesync/config"
	"github.com/peoplesync/peoplesync/engine"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitGuarded = 3
	// exitRecordErrors: the run applied its good records, but some records failed.
	exitRecordErrors = 4
)

// exitError carries an exit code up to main with a message already printed (or none).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// app holds what every command shares.
type app struct {
	configPath string
	logFormat  string
	logLevel   string
	cpuProfile string
	profile    *os.File // the open --cpu-profile file
	stdout     io.Writer
	stderr     io.Writer
	// logOut is the log's writer: stderr, or above a live progress line.
	logOut *switchWriter
	// progressEvery is how often a run off a terminal logs its progress (negative:
	// never, and no live line either).
	progressEvery time.Duration
	logger        *slog.Logger
	cfg           *config.Config // loaded by loadConfig
}

func main() {
	// The first SIGINT or SIGTERM cancels the command with a cause that says so (a run
	// records "interrupted by Ctrl-C (SIGINT)"); the next one kills the process as usual.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		signal.Stop(sigs)
		cancel(interruptedBy(sig))
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel(nil)
	os.Exit(code)
}

// interruptedBy is the cause with which sig cancels the command: it wraps
// engine.ErrInterrupted and names the signal as a person sent it.
func interruptedBy(sig os.Signal) error {
	switch sig {
	case os.Interrupt:
		return fmt.Errorf("%w by Ctrl-C (SIGINT)", engine.ErrInterrupted)
	case syscall.SIGTERM:
		return fmt.Errorf("%w by SIGTERM", engine.ErrInterrupted)
	}
	return fmt.Errorf("%w by the signal %q", engine.ErrInterrupted, sig)
}

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "peoplesync:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "peoplesync:", err)
	return exitUsage
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "peoplesync",
		Short:         "Keep a People Service's profiles in step with your directories",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.logOut = &switchWriter{base: a.stderr}
			l, err := newLogger(a.logOut, isTerminal(a.stderr), a.logFormat, a.logLevel)
			if err != nil {
				return err
			}
			a.logger = l
			slog.SetDefault(l)
			return a.startCPUProfile()
		},
		PersistentPostRun: func(*cobra.Command, []string) { a.stopCPUProfile() },
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", "sync.hcl", "configuration file")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "auto", "log format: auto (text on a terminal, JSON otherwise), text or json")
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&a.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the command to this file")
	_ = root.PersistentFlags().MarkHidden("cpu-profile")
	root.PersistentFlags().DurationVar(&a.progressEvery, "progress-every", defaultProgressEvery, "how often a run off a terminal logs its progress (negative: never)")
	_ = root.PersistentFlags().MarkHidden("progress-every")
	root.AddCommand(
		a.validateCommand(),
		a.runCommand(true),
		a.runCommand(false),
		a.migrateCommand(),
		a.runsCommand(),
		a.profilesCommand(),
		a.personCommand(),
		a.pendingCommand(),
		a.mappingCommand(),
		a.pluginCommand(),
		a.checkCommand(),
		a.serveCommand(),
	)
	return root
}

// startCPUProfile starts the CPU profile that --cpu-profile asks for (a developer's tool
// for a slow sync: `go tool pprof bin/peoplesync FILE`); PersistentPostRun stops it.
func (a *app) startCPUProfile() error {
	if a.cpuProfile == "" {
		return nil
	}
	f, err := os.Create(a.cpuProfile)
	if err != nil {
		return fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("--cpu-profile: %w", err)
	}
	a.profile = f
	return nil
}

// stopCPUProfile ends the profile that startCPUProfile began, if any.
func (a *app) stopCPUProfile() {
	if a.profile == nil {
		return
	}
	pprof.StopCPUProfile()
	if err := a.profile.Close(); err != nil {
		fmt.Fprintln(a.stderr, "peoplesync: --cpu-profile:", err)
	}
	a.profile = nil
}

// newLogger builds the process logger: text on a terminal, JSON otherwise.
func newLogger(w io.Writer, terminal bool, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "auto":
		if terminal {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want auto, text or json", format)
}

// loadConfig loads the configuration once per command, printing its diagnostics once;
// errors end the command, and later calls return the same Config.
func (a *app) loadConfig() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	cfg, diags := config.Load(a.configPath)
	if n := a.printDiagnostics(cfg, diags); n > 0 {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: %d error(s)", a.configPath, n)}
	}
	a.cfg = cfg
	return cfg, nil
}

// loadConfigWithoutStore is loadConfig for a command that never opens the store
// (mapping test): a store url from an unset environment variable is no error of its.
func (a *app) loadConfigWithoutStore() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	cfg, diags := config.Load(a.configPath)
	diags, _ = unusedStoreURL(cfg, diags)
	if n := a.printDiagnostics(cfg, diags); n > 0 {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: %d error(s)", a.configPath, n)}
	}
	a.cfg = cfg
	return cfg, nil
}

// unusedStoreURL takes out of diags the error of a store url written env("NAME") when
// NAME is not set, for a command that never opens the store: `validate` and `mapping
// test` run where DATABASE_URL is not, such as a mapping author's laptop or a CI check
// of the file. It returns the other diagnostics and the unset call's diagnostic, or nil.
// Any other problem of the store block stays an error.
func unusedStoreURL(cfg *config.Config, diags hcl.Diagnostics) (hcl.Diagnostics, *hcl.Diagnostic) {
	if cfg == nil {
		return diags, nil
	}
	url := cfg.Store.RangeOf("url")
	if url == cfg.Store.DeclRange { // no url attribute
		return diags, nil
	}
	var rest hcl.Diagnostics
	var unset *hcl.Diagnostic
	for _, d := range diags {
		call, isCall := hcl.DiagnosticExtra[hclsyntax.FunctionCallDiagExtra](d)
		var ue *config.UnsetEnvError
		if unset == nil && d.Severity == hcl.DiagError && isCall && errors.As(call.FunctionCallError(), &ue) &&
			d.Subject != nil && d.Subject.Filename == url.Filename &&
			d.Subject.Start.Byte >= url.Start.Byte && d.Subject.End.Byte <= url.End.Byte {
			unset = d
			continue
		}
		rest = append(rest, d)
	}
	return rest, unset
}

// printDiagnostics prints diags, if there are any, with the lines of cfg's files they
// point at, and returns how many are errors: a command that has any ends with exitUsage.
func (a *app) printDiagnostics(cfg *config.Config, diags hcl.Diagnostics) int {
	if len(diags) == 0 {
		return 0
	}
	var files map[string]*hcl.File
	if cfg != nil {
		files = cfg.Files
	}
	if err := config.WriteDiagnostics(a.stderr, diags, files, isTerminal(a.stderr)); err != nil {
		fmt.Fprintln(a.stderr, diags.Error())
	}
	n := 0
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			n++
		}
	}
	return n
}

// holder names this process in locks and run records.
func holder() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}
