package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/peoplesync/peoplesync/config"
	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/setup"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/postgres"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

func (a *app) validateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration, start each connector with its config and load each mapping module",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Report every problem at once: the connectors and modules are checked even
			// when the file itself has errors, as far as the file could be read.
			cfg, diags := config.Load(a.configPath)
			// validate never opens the store: a url from an unset variable is a warning
			// (the commands that open the store fail on it as an error).
			diags, unset := unusedStoreURL(cfg, diags)
			if unset != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "Store url not set here",
					Detail: unset.Detail + " validate does not open the store, so it checked the rest; " +
						"sync, plan, serve, migrate, runs and profiles need the variable set.",
					Subject: unset.Subject,
				})
			}
			diags = append(diags, setup.Validate(cmd.Context(), cfg, a.setupOptions())...)
			if n := a.printDiagnostics(cfg, diags); n > 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("%s: %d error(s)", a.configPath, n)}
			}
			fmt.Fprintf(a.stdout, "%s is valid: %d connector(s), %d mapping(s), %d sync(s)\n",
				a.configPath, len(cfg.Connectors), len(cfg.Mappings), len(cfg.Syncs))
			return nil
		},
	}
}

func (a *app) setupOptions() setup.Options {
	return setup.Options{Logger: a.logger}
}

// configuredStore loads the configuration and opens its store (openStore).
func (a *app) configuredStore(ctx context.Context, migrate bool) (*postgres.Store, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	return a.openStore(ctx, cfg, migrate)
}

// openStore opens the configured store, migrated if migrate says so. A store that is not
// is refused if its schema lags this peoplesync: the commands that only read never
// migrate as a side effect.
func (a *app) openStore(ctx context.Context, cfg *config.Config, migrate bool) (*postgres.Store, error) {
	st, err := postgres.Open(ctx, cfg.Store.URL, postgres.Options{
		LeaseTTL: cfg.Store.LeaseTTL,
		Logger:   a.logger.With("part", "store"),
		Sources:  cfg.Sources(),
	})
	if err != nil {
		// postgres.Open says "open store" itself.
		return nil, &exitError{code: exitFailed, err: err}
	}
	pending := 0
	if migrate {
		err = st.Migrate(ctx)
	} else {
		pending, err = st.PendingMigrations(ctx)
	}
	if err == nil && pending > 0 {
		err = fmt.Errorf("the store's schema lacks %d of this peoplesync's migrations; run `peoplesync migrate` (a sync migrates too)", pending)
	}
	if err != nil {
		st.Close()
		return nil, &exitError{code: exitFailed, err: err}
	}
	return st, nil
}

// runFlags are the flags of sync and plan.
type runFlags struct {
	sync         string
	output       string
	delta        bool
	allowDeletes int
	details      int
}

// runCommand is the sync command, or with plan the plan command: the same run, dry, that
// shows its changes field by field.
func (a *app) runCommand(plan bool) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "sync --sync NAME",
		Short: "Run a sync once now",
		Long: `Run a sync once now: read every person of its connector, map them, write what
changed and delete, within the deletion guard, who is gone.

On a terminal, a live line on stderr shows the records read, mapped and written; off
one, a "sync progress" line is logged every 10 s. The summary goes to stdout (one JSON
object with --output json). With the text summary, the run's own log line with the
same counts ("sync run finished") is logged at debug level only, and a failed run's
error is printed once, on stderr; with --output json both stay in the log.

Exit codes:
  0  the run succeeded
  1  the run failed (connector, store, timeout, interrupted), or the store could not
     be opened
  2  bad usage or configuration: a flag, an unknown sync, an error in the config, a
     connector or mapping module that cannot start
  3  the deletion guard held the run's deletions back (see --allow-deletes)
  4  some records failed; the others were applied (peoplesync runs --errors RUN)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runSync(cmd.Context(), &f, plan)
		},
	}
	if plan {
		cmd.Use, cmd.Short = "plan --sync NAME", "Show what a sync would change, field by field, without writing anything"
		cmd.Long = `Show what a sync would change, field by field, without writing anything.

Exit codes are those of sync: 0 the plan is clean, 1 the read failed, 2 bad usage or
configuration, 3 the deletion guard would hold deletions back, 4 some records would fail.`
	}
	flags := cmd.Flags()
	flags.StringVar(&f.sync, "sync", "", "name of the sync (required)")
	flags.StringVar(&f.output, "output", "text", "output: text or json")
	flags.BoolVar(&f.delta, "delta", false, "read only what changed since the last run (connectors that support it)")
	_ = cmd.MarkFlagRequired("sync")
	if plan {
		flags.IntVar(&f.details, "details", 20, "how many changes to show field by field")
	} else {
		flags.IntVar(&f.allowDeletes, "allow-deletes", 0, "let this run delete up to N profiles past the deletion guard")
	}
	return cmd
}

func (a *app) runSync(ctx context.Context, f *runFlags, dryRun bool) error {
	if err := checkOutput(f.output); err != nil {
		return err
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	// An unknown name is said as runs and profiles say it, before the store is opened.
	if err := a.knownSync(f.sync); err != nil {
		return err
	}
	st, err := a.openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()
	prep, diags := setup.Sync(ctx, cfg, f.sync, a.setupOptions())
	if a.printDiagnostics(cfg, diags) > 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("sync %q cannot start", f.sync)}
	}
	defer prep.Close(context.WithoutCancel(ctx))
	a.warnAboutLeftovers(ctx, cfg, st, f.sync)

	eng := &engine.Engine{Store: st, Holder: holder(), Logger: a.logger}
	opts := engine.Options{DryRun: dryRun, AllowDeletes: f.allowDeletes, PlanDetails: f.details}
	if f.delta {
		if !prep.Sync.ReadsDeltas {
			return &exitError{code: exitUsage, err: fmt.Errorf("sync %q: --delta: %w", f.sync, engine.ErrNoDeltas)}
		}
		opts.Mode = connector.Delta
	}
	if f.output == "text" {
		// The summary printed below says what the run's closing log lines say: they
		// go to the log at debug level only (see summarizedHandler).
		eng.Logger = slog.New(summarizedHandler{a.logger.Handler()})
	}
	var stopProgress func()
	opts.Progress, stopProgress = a.startProgress()
	res, runErr := eng.Run(ctx, prep.Sync, opts)
	stopProgress()
	if f.output == "json" {
		if err := writeResultJSON(a.stdout, res); err != nil {
			return err
		}
	} else if runErr == nil || !dryRun {
		// A plan that failed has nothing to show but its error (below).
		writeResultText(a.stdout, res, dryRun)
	}
	switch {
	case runErr != nil && f.output == "json":
		// The JSON result holds the error, and the run's log line too: once each.
		return &exitError{code: exitFailed}
	case runErr != nil:
		// The error is printed once, on stderr, not in the summary as well.
		return &exitError{code: exitFailed, err: runErr}
	case res.Status == store.StatusGuarded:
		return &exitError{code: exitGuarded}
	case res.Status == store.StatusCompletedWithErrors:
		return &exitError{code: exitRecordErrors}
	}
	return nil
}

// resultJSON is the one JSON object `sync --output json` prints.
type resultJSON struct {
	RunID       int64           `json:"run_id,omitempty"`
	Sync        string          `json:"sync"`
	Mode        string          `json:"mode"`
	Status      string          `json:"status"`
	Processed   int64           `json:"processed"`
	Created     int64           `json:"created"`
	Updated     int64           `json:"updated"`
	Unchanged   int64           `json:"unchanged"`
	Skipped     int64           `json:"skipped"`
	Skips       []engine.Skip   `json:"skips,omitempty"`
	Deleted     int64           `json:"deleted"`
	Errors      int64           `json:"errors"`
	Linked      int64           `json:"linked"`
	Joined      int64           `json:"joined"`
	Unmatched   int64           `json:"unmatched"`
	Disputed    int64           `json:"disputed"`
	Rematched   int64           `json:"rematched"`
	Keyless     int64           `json:"keyless,omitempty"`
	Adopted     []adoptedJSON   `json:"adopted,omitempty"`
	WouldDelete int64           `json:"would_delete,omitempty"`
	DurationMS  int64           `json:"duration_ms"`
	Message     string          `json:"message,omitempty"`
	Changes     []engine.Change `json:"changes,omitempty"`
}

// adoptedJSON is what a run took over from one of its sync's previous names.
type adoptedJSON struct {
	Name  string `json:"previous_name"`
	Links int    `json:"links"`
	Runs  int    `json:"runs"`
}

func writeResultJSON(w io.Writer, r engine.Result) error {
	var adopted []adoptedJSON
	for _, a := range r.Adopted {
		adopted = append(adopted, adoptedJSON{Name: a.Name, Links: a.Links, Runs: a.Runs})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(resultJSON{
		RunID: r.RunID, Sync: r.Sync, Mode: r.Mode, Status: r.Status,
		Processed: r.Processed, Created: r.Created, Updated: r.Updated, Unchanged: r.Unchanged,
		Skipped: r.Skipped, Skips: r.Skips,
		Deleted: r.Deleted, Errors: r.Errors, WouldDelete: r.WouldDelete,
		Linked: r.Linked, Joined: r.Joined, Unmatched: r.Unmatched, Disputed: r.Disputed, Rematched: r.Rematched, Keyless: r.Keyless,
		Adopted:    adopted,
		DurationMS: r.Duration.Milliseconds(), Message: r.Message, Changes: r.Changes,
	})
}

func writeResultText(w io.Writer, r engine.Result, dryRun bool) {
	if dryRun {
		fmt.Fprintf(w, "Plan for sync %q (%s read; nothing was written):\n", r.Sync, r.Mode)
		for _, a := range r.Adopted {
			fmt.Fprintf(w, "  (the sync was renamed from %q: the run adopts that name's profiles first; this plan compares against them)\n", a.Name)
		}
		held := r.WouldDelete > r.Deleted // the guard holds the deletions back
		for _, c := range r.Changes {
			action := c.Action
			if held && action == engine.ActionDelete {
				action = "held"
			}
			fmt.Fprintf(w, "  %-7s %s (%s)%s\n", action, c.Name, c.ExternalID, planTarget(c))
			for _, d := range c.Fields {
				fmt.Fprintf(w, "          %-16s %q → %q\n", d.Field, d.Old, d.New)
			}
		}
		total := r.Created + r.Updated + max(r.Deleted, r.WouldDelete)
		if more := total - int64(len(r.Changes)); more > 0 && r.Status != store.StatusFailed {
			fmt.Fprintf(w, "  … and %d more (--details N shows more)\n", more)
		}
		deletes := fmt.Sprintf("delete %d", r.Deleted)
		if held {
			deletes = fmt.Sprintf("delete 0 (%d held back by the deletion guard)", r.WouldDelete)
		}
		fmt.Fprintf(w, "would create %d, update %d, %s; unchanged %d; skipped by the mapping %d; errors %d (%d records read in %s)\n",
			r.Created, r.Updated, deletes, r.Unchanged, r.Skipped, r.Errors, r.Processed, r.Duration.Round(time.Millisecond))
		if r.Joins {
			fmt.Fprintf(w, "would join %d; keep %d unmatched and %d disputed\n", r.Joined, r.Unmatched, r.Disputed)
			writeKeyless(w, r)
		}
		writeSkips(w, r)
		if r.Message != "" && r.Status != store.StatusFailed {
			fmt.Fprintf(w, "note: %s\n", r.Message)
		}
		return
	}
	fmt.Fprintf(w, "sync %q run %d: %s in %s\n", r.Sync, r.RunID, r.Status, r.Duration.Round(time.Millisecond))
	for _, a := range r.Adopted {
		fmt.Fprintf(w, "adopted the profiles of %q, the sync's previous name: %d links and %d runs\n", a.Name, a.Links, a.Runs)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "processed\tcreated\tupdated\tunchanged\tskipped\tdeleted\terrors\t")
	fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.Processed, r.Created, r.Updated, r.Unchanged, r.Skipped, r.Deleted, r.Errors)
	tw.Flush()
	if r.Joins || r.Rematched > 0 {
		writeJoins(w, r)
	}
	writeSkips(w, r)
	switch {
	case r.Message == "" || r.Status == store.StatusFailed:
		// A failed run's error is the command's error, printed once on stderr.
	case r.Status == store.StatusCompletedWithErrors && r.RunID > 0:
		fmt.Fprintf(w, "%s; `peoplesync runs --errors %d` shows them\n", strings.TrimSpace(r.Message), r.RunID)
	default:
		fmt.Fprintf(w, "%s\n", strings.TrimSpace(r.Message))
	}
}

// summarizedMessages are the engine's log lines that a run's printed summary repeats:
// its closing line with every count and its error, and the deletion guard's reason.
// The log keeps them for a run whose summary is JSON (a machine's) and in serve.
var summarizedMessages = map[string]bool{
	"sync run finished":                true,
	"deletion guard: deleting nothing": true,
}

// summarizedHandler logs the records of summarizedMessages at debug level: a run that
// prints its summary for a person does not say the same thing twice (once as a log line
// right above the summary, the error a third time below it). --log-level debug shows
// them again.
type summarizedHandler struct{ slog.Handler }

// Handle demotes the summarized records and passes every record on.
func (h summarizedHandler) Handle(ctx context.Context, r slog.Record) error {
	if summarizedMessages[r.Message] && r.Level > slog.LevelDebug {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the demotion on a logger with attributes.
func (h summarizedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return summarizedHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the demotion on a logger with a group.
func (h summarizedHandler) WithGroup(name string) slog.Handler {
	return summarizedHandler{h.Handler.WithGroup(name)}
}

// writeSkips says why the mapping skipped records: each reason with its count and the
// first record it skipped.
func writeSkips(w io.Writer, r engine.Result) {
	if r.Skipped == 0 {
		return
	}
	fmt.Fprintln(w, "skipped by the mapping:")
	var told int64
	for _, s := range r.Skips {
		fmt.Fprintf(w, "  %d  %s (first: %s)\n", s.Count, s.Reason, s.ExampleID)
		told += s.Count
	}
	if rest := r.Skipped - told; rest > 0 {
		fmt.Fprintf(w, "  %d  for other reasons\n", rest)
	}
}

// planTarget says which profile a planned join would join, or which a dispute is
// between.
func planTarget(c engine.Change) string {
	switch {
	case c.ProfileID != "":
		return " → profile " + c.ProfileID
	case len(c.Candidates) > 0:
		return " between profiles " + strings.Join(c.Candidates, ", ")
	}
	return ""
}

// writeJoins says how a joining sync's records found their people.
func writeJoins(w io.Writer, r engine.Result) {
	fmt.Fprintf(w, "people: linked %d, joined %d, unmatched %d, disputed %d", r.Linked, r.Joined, r.Unmatched, r.Disputed)
	if r.Rematched > 0 {
		fmt.Fprintf(w, "; %d waiting records joined their people", r.Rematched)
	}
	fmt.Fprintln(w)
	writeKeyless(w, r)
	if r.Unmatched+r.Disputed > 0 {
		fmt.Fprintf(w, "`peoplesync pending --sync %s` lists the unmatched and disputed records\n", r.Sync)
	}
}

// writeKeyless says, if any, how many records had none of the sync's join keys.
func writeKeyless(w io.Writer, r engine.Result) {
	if r.Keyless > 0 {
		fmt.Fprintf(w, "%d records have no value for any join key, so they can never join a person: check that the mapping produces the keys\n", r.Keyless)
	}
}
