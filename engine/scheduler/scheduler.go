package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/store"
)

// DefaultRetryEvery is how often a tick whose sync is locked elsewhere tries again.
const DefaultRetryEvery = time.Second

// PrepareFunc readies a sync for one run (starts its connector, loads its mapping);
// release frees what it started. The daemon's uses engine/setup.Sync.
type PrepareFunc func(ctx context.Context, sync string) (s *engine.Sync, release func(), err error)

// Options configure a Scheduler.
type Options struct {
	// Store is where runs take their locks and write.
	Store store.Store
	// Holder names this replica in locks and runs.
	Holder string
	// Prepare readies a sync for each run.
	Prepare PrepareFunc
	// Logger receives the scheduler's logs; nil means slog.Default().
	Logger *slog.Logger
	// Clock is the time source; nil means the wall clock.
	Clock Clock
	// Metrics records runs; nil records nothing.
	Metrics *Metrics
	// RetryEvery is how often a locked tick tries again; 0 means DefaultRetryEvery.
	RetryEvery time.Duration
	// ProgressEvery is how often a running run logs its progress; 0 means
	// DefaultProgressEvery, a negative value never.
	ProgressEvery time.Duration
}

// DefaultProgressEvery is how often a run that the scheduler runs logs its progress.
const DefaultProgressEvery = 10 * time.Second

// JobStatus is what the scheduler knows of one job, for /status.
type JobStatus struct {
	Sync       string     `json:"sync"`
	Mode       string     `json:"mode"`
	Schedule   string     `json:"schedule"`
	Timezone   string     `json:"timezone"`
	NextTick   time.Time  `json:"next_tick"`
	Running    bool       `json:"running"`
	LastTick   *time.Time `json:"last_tick,omitempty"`
	LastRunID  int64      `json:"last_run_id,omitempty"`
	LastStatus string     `json:"last_status,omitempty"`
	LastError  string     `json:"last_error,omitempty"`
	// LastRecordErrors is how many records the last run could not apply (it then ended
	// completed_with_errors, or failed): the number an operator alerts on.
	LastRecordErrors int64 `json:"last_record_errors"`
}

// Scheduler runs jobs on their schedules. Start it once; Stop it any number of times.
type Scheduler struct {
	jobs []Job
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	started  bool
	stopped  bool
	cancel   context.CancelCauseFunc
	state    []JobStatus
	loops    sync.WaitGroup
	runs     sync.WaitGroup
	stopOnce sync.Once

	testSignals testSignals
}

// New returns a scheduler of jobs.
func New(jobs []Job, opts Options) (*Scheduler, error) {
	if opts.Store == nil || opts.Prepare == nil || opts.Holder == "" {
		return nil, errors.New("scheduler: Store, Prepare and Holder are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.RetryEvery <= 0 {
		opts.RetryEvery = DefaultRetryEvery
	}
	s := &Scheduler{jobs: jobs, opts: opts, log: opts.Logger.With("part", "scheduler")}
	for _, j := range jobs {
		s.state = append(s.state, JobStatus{Sync: j.Sync, Mode: j.Mode, Schedule: j.Spec, Timezone: j.Location.String()})
	}
	return s, nil
}

// Start starts a loop per job and returns. The loops, and the runs they start, end when
// ctx ends or Stop is called; runs are then interrupted as by Stop.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("scheduler: already started")
	}
	if s.stopped {
		return errors.New("scheduler: stopped")
	}
	s.started = true
	// Runs get a context of their own, cancelled with engine.ErrShutdown, so that they
	// record why they stopped.
	rctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	s.cancel = cancel
	context.AfterFunc(ctx, func() { cancel(engine.ErrShutdown) })
	for i, j := range s.jobs {
		s.opts.Metrics.declare(j)
		next := j.Next(s.opts.Clock.Now())
		s.state[i].NextTick = next
		s.log.Info("sync scheduled", "sync", j.Sync, "mode", j.Mode, "schedule", j.Spec,
			"timezone", j.Location.String(), "next_tick", next.Format(time.RFC3339))
		s.loops.Add(1)
		go s.loop(rctx, i, j)
	}
	return nil
}

// Stop interrupts running runs (each lets its current batch commit, records itself as
// failed with "interrupted by shutdown" and releases its lock), waits for them and stops
// the loops. It is safe to call more than once and before Start.
func (s *Scheduler) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		cancel := s.cancel
		s.mu.Unlock()
		if cancel != nil {
			cancel(engine.ErrShutdown)
		}
		s.loops.Wait()
		s.runs.Wait()
		s.log.Info("scheduler stopped")
	})
}

// Status returns the state of every job.
func (s *Scheduler) Status() []JobStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobStatus, len(s.state))
	copy(out, s.state)
	return out
}

// loop waits for each tick of job i and starts its run, unless the last one still runs.
func (s *Scheduler) loop(ctx context.Context, i int, j Job) {
	defer s.loops.Done()
	log := s.log.With("sync", j.Sync, "mode", j.Mode, "timezone", j.Location.String())
	for {
		s.mu.Lock()
		tick := s.state[i].NextTick
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-s.opts.Clock.After(tick.Sub(s.opts.Clock.Now())):
		}
		next := j.Next(tick)
		if now := s.opts.Clock.Now(); !next.After(now) {
			// Late (a suspended process, a jump of the clock): skip to the coming tick.
			next = j.Next(now)
		}
		s.mu.Lock()
		s.state[i].NextTick = next
		busy := s.state[i].Running
		if !busy {
			s.state[i].Running = true
			t := tick
			s.state[i].LastTick = &t
		}
		s.mu.Unlock()
		if busy {
			log.Warn("tick skipped: the previous run of this job is still going",
				"tick", tick.Format(time.RFC3339))
			continue
		}
		s.runs.Add(1)
		go func() {
			defer s.runs.Done()
			id, res, err := s.runTick(ctx, j, tick, next, log.With("tick", tick.Format(time.RFC3339)))
			s.mu.Lock()
			s.state[i].Running = false
			if id != 0 || err != nil {
				s.state[i].LastRunID, s.state[i].LastStatus, s.state[i].LastError = id, res.Status, ""
				s.state[i].LastRecordErrors = res.Errors
				if err != nil {
					s.state[i].LastError = err.Error()
				}
			}
			st := s.state[i]
			s.mu.Unlock()
			s.testSignals.runEnded.signal(st)
		}()
	}
}

// runTick takes the sync's lock for tick, retrying while another run holds it until the
// tick is taken or the next tick (until) is due, then runs the sync. It returns the run's
// ID and result (0 and a zero result if this replica did not run the tick).
func (s *Scheduler) runTick(ctx context.Context, j Job, tick, until time.Time, log *slog.Logger) (int64, engine.Result, error) {
	var run store.Run
	for {
		var err error
		run, err = s.opts.Store.BeginTickRun(ctx, j.Sync, j.Mode, s.opts.Holder, tick)
		switch {
		case err == nil:
		case errors.Is(err, store.ErrTickTaken):
			log.Debug("tick already run by a replica", "err", err)
			return 0, engine.Result{}, nil
		case errors.Is(err, store.ErrLocked):
			log.Debug("sync locked by another run; retrying", "err", err)
			wait := s.opts.RetryEvery
			if s.opts.Clock.Now().Add(wait).After(until) {
				log.Info("tick not run: the sync stayed locked by another run until the next tick")
				return 0, engine.Result{}, nil
			}
			select {
			case <-ctx.Done():
				return 0, engine.Result{}, nil
			case <-s.opts.Clock.After(wait):
			}
			continue
		case ctx.Err() != nil:
			return 0, engine.Result{}, nil
		default:
			log.Error("cannot begin the run", "err", err)
			return 0, engine.Result{}, err
		}
		break
	}
	s.opts.Metrics.held(j.Sync, true)
	defer s.opts.Metrics.held(j.Sync, false)
	start := s.opts.Clock.Now()
	log = log.With("run_id", run.ID())
	log.Info("run started", "holder", s.opts.Holder)

	sync, release, err := s.opts.Prepare(ctx, j.Sync)
	if err != nil {
		msg := fmt.Sprintf("cannot start the sync: %v", err)
		log.Error("run failed", "err", msg)
		if errors.Is(context.Cause(ctx), engine.ErrShutdown) {
			msg = engine.ErrShutdown.Error()
		}
		res := engine.Result{Sync: j.Sync, Mode: j.Mode, Status: store.StatusFailed, Message: msg}
		if ferr := run.Finish(context.WithoutCancel(ctx), store.Summary{Status: store.StatusFailed, Message: msg}); ferr != nil {
			log.Error("recording the run failed", "err", ferr)
		}
		s.opts.Metrics.observe(j, res, s.opts.Clock.Now().Sub(start), s.opts.Clock.Now())
		return run.ID(), res, errors.New(msg)
	}
	defer release()
	eng := &engine.Engine{Store: s.opts.Store, Holder: s.opts.Holder, Logger: s.opts.Logger, Now: s.opts.Clock.Now}
	opts := engine.Options{Mode: j.ReadMode(), Begun: run}
	if every := cmp.Or(s.opts.ProgressEvery, DefaultProgressEvery); every > 0 {
		// Nobody watches a daemon's runs live: a line now and then says how far they got.
		pl := engine.StartProgressLog(s.log.With("mode", j.Mode, "run_id", run.ID()), every)
		defer pl.Stop()
		opts.Progress = pl.Update
	}
	res, err := eng.Run(ctx, sync, opts)
	s.opts.Metrics.observe(j, res, s.opts.Clock.Now().Sub(start), s.opts.Clock.Now())
	if engine.IsLockLost(err) {
		log.Error("the run lost its lock to another replica and stopped", "err", err)
	}
	return run.ID(), res, err
}
