package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/peoplesync/peoplesync/config"
	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/scheduler"
	"github.com/peoplesync/peoplesync/engine/setup"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/postgres"
)

func (a *app) serveCommand() *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run every sync on its schedule, with /healthz, /readyz, /metrics and /status (the Kubernetes mode)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.serve(cmd.Context(), listen)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", ":8080", "address of the HTTP server for probes, metrics and status")
	return cmd
}

// serve runs the scheduler and the HTTP server until ctx ends (SIGTERM), then drains:
// running runs commit their current batch, record themselves and release their locks.
func (a *app) serve(ctx context.Context, listen string) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	jobs, err := scheduler.Jobs(cfg)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	st, err := a.openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()
	if n, err := st.AbandonRuns(ctx); err != nil {
		return &exitError{code: exitFailed, err: err}
	} else if n > 0 {
		a.logger.Warn("marked runs abandoned: their process stopped without finishing them", "runs", n)
	}
	a.warnAboutLeftovers(ctx, cfg, st, "")

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := scheduler.NewMetrics(reg)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	me := holder()
	sched, err := scheduler.New(jobs, scheduler.Options{
		Store: st, Holder: me, Logger: a.logger, Metrics: metrics,
		Prepare: a.prepareFunc(cfg), ProgressEvery: a.progressEvery,
	})
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("listen: %w", err)}
	}
	srv := &http.Server{Handler: serveMux(st, sched, reg, me), ReadHeaderTimeout: 10 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	a.logger.Info("serving", "addr", ln.Addr().String(), "holder", me, "syncs", len(cfg.Syncs))

	if err := sched.Start(ctx); err != nil {
		_ = srv.Close()
		return &exitError{code: exitFailed, err: err}
	}
	var failed error
	select {
	case <-ctx.Done():
		a.logger.Info("shutting down: interrupting runs at their next batch")
	case err := <-srvErr:
		failed = fmt.Errorf("http server: %w", err)
	}
	sched.Stop()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if failed != nil {
		return &exitError{code: exitFailed, err: failed}
	}
	a.logger.Info("stopped cleanly")
	return nil
}

// prepareFunc starts a sync's connector and mapping for one run.
func (a *app) prepareFunc(cfg *config.Config) scheduler.PrepareFunc {
	return func(ctx context.Context, name string) (*engine.Sync, func(), error) {
		prep, diags := setup.Sync(ctx, cfg, name, a.setupOptions())
		if diags.HasErrors() {
			return nil, nil, errors.New(diags.Error())
		}
		return prep.Sync, func() { prep.Close(context.WithoutCancel(ctx)) }, nil
	}
}

// statusJSON is what /status serves.
type statusJSON struct {
	Holder string                `json:"holder"`
	Jobs   []scheduler.JobStatus `json:"jobs"`
	Locks  []lockJSON            `json:"locks"`
	Error  string                `json:"error,omitempty"`
}

type lockJSON struct {
	Sync       string    `json:"sync"`
	Holder     string    `json:"holder"`
	Term       int64     `json:"term"`
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Live       bool      `json:"live"`
}

func serveMux(st *postgres.Store, sched *scheduler.Scheduler, reg *prometheus.Registry, me string) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := st.Ready(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		out := statusJSON{Holder: me, Jobs: sched.Status(), Locks: []lockJSON{}}
		locks, err := st.Locks(r.Context())
		if err != nil {
			out.Error = err.Error()
		}
		for _, l := range locks {
			out.Locks = append(out.Locks, lockJSON(l))
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	})
	return mux
}

// printLocks lists who holds which sync's lock, for `peoplesync runs`.
func printLocks(ctx context.Context, w io.Writer, st store.Store) error {
	locks, err := st.Locks(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LOCK\tHOLDER\tTERM\tSINCE\tUNTIL\tSTATE")
	for _, l := range locks {
		state := "held"
		if !l.Live {
			state = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", l.Sync, l.Holder, l.Term,
			l.AcquiredAt.UTC().Format(time.RFC3339), l.ExpiresAt.UTC().Format(time.RFC3339), state)
	}
	if len(locks) == 0 {
		fmt.Fprintln(tw, "(no sync is locked)")
	}
	fmt.Fprintln(tw)
	return tw.Flush()
}
