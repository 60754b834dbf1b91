package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/peoplesync/peoplesync/engine/mapper"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/profile"
	"github.com/peoplesync/peoplesync/sdk/protocol"
)

// mapWorkers is how many batches are looked up and mapped at once, while the reader
// reads the next one and the comparer and appliers write the last ones: one per CPU, as the
// mapper has one module instance per CPU. (On the 2-core bench machine, 4 workers made
// the initial 100k sync ~6% slower and its peak RSS ~10 MB higher than 2, each holding a
// batch while waiting for an instance.)
func mapWorkers() int { return max(2, runtime.GOMAXPROCS(0)) }

// appliers is how many batches of changes are written at once, each in its own
// transaction: while one commits, the next is copied in.
const appliers = 2

// batchGrace bounds how long the batch being written may still take once its run is
// cancelled.
const batchGrace = 30 * time.Second

// errorFlushSize is how many per-record errors are buffered before they are written.
const errorFlushSize = 500

// ErrInterrupted is wrapped by the cause with which a command cancels a run on SIGINT or
// SIGTERM: the run is recorded as interrupted, not as "context canceled".
var ErrInterrupted = errors.New("interrupted")

// ErrShutdown is the cause with which a daemon cancels the context of the runs it stops
// (context.WithCancelCause): the run stops reading, lets the batch being written commit,
// and is recorded as failed with this error's message.
var ErrShutdown = errors.New("interrupted by shutdown")

// ErrNoDeltas is the error of a delta run of a sync whose connector cannot read deltas.
var ErrNoDeltas = errors.New("its connector cannot read deltas (it does not declare the capability); run a full sync")

// Run runs s once: a real run under the sync's lock, or a dry run (opts.DryRun) that
// writes nothing. The returned Result is filled in as far as the run got even when it
// fails; the error says why it failed.
func (e *Engine) Run(ctx context.Context, s *Sync, opts Options) (Result, error) {
	start := e.now()
	res := Result{Sync: s.Name, Mode: modeName(opts.Mode)}
	log := e.logger().With("sync", s.Name, "mode", res.Mode)
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}

	if opts.Mode == connector.Delta && !s.ReadsDeltas {
		res.Status = store.StatusFailed
		res.Message = ErrNoDeltas.Error()
		return res, fmt.Errorf("sync %q: %w", s.Name, ErrNoDeltas)
	}
	p := &pass{engine: e, sync: s, opts: opts, seen: newSeenSet(), log: log, storeName: s.Name}
	p.progress.fn, p.progress.start = opts.Progress, start
	if !opts.DryRun {
		run := opts.Begun
		if run == nil {
			var err error
			if run, err = e.Store.BeginRun(ctx, s.Name, res.Mode, e.Holder); err != nil {
				res.Status = store.StatusFailed
				res.Message = err.Error()
				return res, fmt.Errorf("sync %q: begin run: %w", s.Name, err)
			}
		}
		p.run = run
		res.RunID = run.ID()
		log = log.With("run_id", res.RunID)
		p.log = log
	}
	if p.progress.fn != nil {
		p.progress.total = p.expectedRecords(ctx)
	}

	runErr := p.adopt(ctx)
	if runErr == nil {
		runErr = p.execute(ctx)
	}
	if runErr != nil {
		runErr = p.why(ctx, runErr)
	}
	p.fill(&res)
	res.Duration = e.now().Sub(start)
	if runErr != nil {
		res.Status = store.StatusFailed
		res.Message = runErr.Error()
	}

	if p.run != nil {
		// Record the run even when ctx was cancelled: a run is never left "running".
		fctx := context.WithoutCancel(ctx)
		if err := p.flushErrors(fctx); err != nil && runErr == nil {
			runErr = err
			res.Status, res.Message = store.StatusFailed, err.Error()
		}
		sum := store.Summary{
			Status: res.Status, Processed: res.Processed, Created: res.Created, Updated: res.Updated,
			Unchanged: res.Unchanged, Skipped: res.Skipped, Deleted: res.Deleted, Errors: res.Errors,
			Joined: res.Joined, Unmatched: res.Unmatched, Disputed: res.Disputed,
			Message: res.Message,
		}
		if res.Status == store.StatusSucceeded || res.Status == store.StatusGuarded {
			sum.Cursor = p.end.Cursor
		}
		if err := p.run.Finish(fctx, sum); err != nil {
			log.Error("recording the run failed", "err", err)
			if runErr == nil {
				// The run's writes are committed; only its record is not. Say so once,
				// as the run's one outcome, rather than "succeeded" and then a failure.
				runErr = fmt.Errorf("run %d: its writes are committed (created %d, updated %d, deleted %d), but recording its end failed: %w",
					res.RunID, res.Created, res.Updated, res.Deleted, err)
				res.Status, res.Message = store.StatusFailed, runErr.Error()
			}
		}
	}

	level := slog.LevelInfo
	if res.Status == store.StatusFailed {
		level = slog.LevelError
	} else if res.Status == store.StatusGuarded {
		level = slog.LevelWarn
	}
	attrs := []any{"status", res.Status, "dry_run", opts.DryRun,
		"processed", res.Processed, "created", res.Created, "updated", res.Updated,
		"unchanged", res.Unchanged, "skipped", res.Skipped, "deleted", res.Deleted, "errors", res.Errors}
	if res.Joins || res.Rematched > 0 {
		attrs = append(attrs, "linked", res.Linked, "joined", res.Joined, "unmatched", res.Unmatched,
			"disputed", res.Disputed, "rematched", res.Rematched)
	}
	log.Log(ctx, level, "sync run finished", append(attrs, "duration", res.Duration.Round(1e6), "message", res.Message)...)
	if runErr != nil {
		return res, fmt.Errorf("sync %q: %w", s.Name, runErr)
	}
	return res, nil
}

// why says why a run that failed with err stopped, when its context says: a shutdown or
// an interruption (the cause it was cancelled with, ErrShutdown or one wrapping
// ErrInterrupted) rather than "context canceled", or the sync's timeout.
func (p *pass) why(ctx context.Context, err error) error {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, ErrShutdown):
		return ErrShutdown
	case errors.Is(cause, ErrInterrupted):
		return cause
	case errors.Is(cause, context.DeadlineExceeded) && p.sync.Timeout > 0:
		return fmt.Errorf("the sync's timeout (%s) passed: %w", p.sync.Timeout, err)
	}
	return err
}

// pass is the state of one run.
type pass struct {
	engine *Engine
	sync   *Sync
	opts   Options
	run    store.Run // nil for a dry run
	log    *slog.Logger
	// storeName is the name the store keeps the sync's links under: the sync's own, or
	// for a dry run of a renamed sync that has none yet, the previous name that has them
	// (a real run adopts them first). adopted is what the run adopted (would adopt).
	storeName string
	adopted   []store.Adopted

	salt []byte
	end  connector.ReadResult
	// seen holds every external ID the read returned that protects its profile from
	// deletion: mapped records and records whose mapping failed (never concluded gone).
	seen         *seenSet
	deltaDeletes []string
	// unidentified counts the records without an external ID (Invalid ones, or
	// malformed): as they could be anyone's, a run with any deletes nobody.
	unidentified int64
	firstUnknown string // the first one's problem, for the guard's message
	// index is what a full read loads about the sync's links (see storedIndex) while the
	// connector starts; nil for a delta read. indexReady is closed once it is loaded.
	// Until then the workers wait for it, unless the reader closes stopWaiting (its
	// backlog is full): batches then look their records up.
	index       *storedIndex
	indexReady  chan struct{}
	stopWaiting chan struct{}
	errs        []store.RecordError

	// changedIDs are the external IDs this run wrote (nil once there are too many:
	// tooManyChanged), and previousRunClean says whether the sync's previous run got as
	// far as resolving managers; together they decide what ResolveManagers looks at.
	changedIDs       []string
	tooManyChanged   bool
	previousRunClean bool
	// createdAny says the run created profiles. Apply set the manager of each it could;
	// ResolveManagers, even scoped to changedIDs, sets the rest (unresolved references).
	createdAny bool
	// wroteAny says the run handed changes to Apply or records to SoftDelete (see
	// rematchMayJoin).
	wroteAny bool

	// countMu guards created and updated, which the appliers add to.
	countMu                                      sync.Mutex
	processed, created, updated, deleted, errors int64
	unchanged, skipped, wouldDelete              int64
	linked, joined, unmatched, disputed, keyless int64
	rematched                                    int64
	status, message                              string
	changes                                      []Change
	skips                                        []Skip // the first reasons of skipped

	progress progress
}

func (p *pass) fill(r *Result) {
	r.Processed, r.Created, r.Updated = p.processed, p.created, p.updated
	r.Unchanged, r.Skipped, r.Deleted, r.Errors = p.unchanged, p.skipped, p.deleted, p.errors
	r.Linked, r.Joined, r.Unmatched, r.Disputed, r.Rematched = p.linked, p.joined, p.unmatched, p.disputed, p.rematched
	r.Joins = p.sync.joins()
	r.Keyless = p.keyless
	r.Adopted = p.adopted
	r.Skips = p.skips
	r.WouldDelete = p.wouldDelete
	r.Status, r.Message = p.status, p.message
	r.Changes = p.changes
}

// adopt takes over what the store keeps under the sync's previous names, before the
// run reads anything of its own. A dry run only finds the previous name whose links to
// read instead while the sync has none.
func (p *pass) adopt(ctx context.Context) error {
	if len(p.sync.PreviousNames) == 0 {
		return nil
	}
	if p.run != nil {
		adopted, err := p.run.Adopt(ctx, p.sync.PreviousNames)
		p.adopted = adopted
		for _, a := range adopted {
			p.log.Info("adopted the profiles of a previous name of the sync", "previous", a.Name, "links", a.Links, "runs", a.Runs)
		}
		return err
	}
	linked, err := p.engine.Store.LinkedSyncs(ctx)
	if err != nil {
		return fmt.Errorf("find the previous names' profiles: %w", err)
	}
	if slices.Contains(linked, p.sync.Name) {
		return nil
	}
	for _, name := range p.sync.PreviousNames {
		if slices.Contains(linked, name) {
			p.storeName = name
			p.adopted = []store.Adopted{{Name: name}}
			return nil
		}
	}
	return nil
}

func (p *pass) execute(ctx context.Context) error {
	p.salt = p.sync.Mapper.Identity()
	req := connector.ReadRequest{Mode: p.opts.Mode}
	if p.opts.Mode == connector.Delta {
		cur, err := p.engine.Store.Cursor(ctx, p.storeName)
		if err != nil {
			return fmt.Errorf("load delta cursor: %w", err)
		}
		req.Cursor = cur
	}
	start := time.Now()
	if err := p.stream(ctx, req); err != nil {
		return err
	}
	p.log.Debug("read, mapped and wrote every record", "records", p.processed, "took", time.Since(start).Round(time.Millisecond))
	p.status = store.StatusSucceeded
	start = time.Now()
	p.enter(PhaseDeleting)
	if err := p.deletions(ctx); err != nil {
		return err
	}
	p.log.Debug("deletions done", "deleted", p.deleted, "took", time.Since(start).Round(time.Millisecond))
	if p.errors > 0 && p.status == store.StatusSucceeded {
		// The good records are applied, but a run with record errors never reads as a
		// success: monitoring that watches the status or the exit code must see it.
		p.status = store.StatusCompletedWithErrors
		if p.message == "" {
			p.message = fmt.Sprintf("%d of %d records failed", p.errors, p.processed)
		}
	}
	if p.run != nil {
		p.loadPreviousRun(ctx)
	}
	if p.run != nil && p.rematchMayJoin() {
		// Pending records of the syncs that join may match the people this run created
		// or changed: they join now, not only at their own sync's next run.
		n, err := p.run.Rematch(ctx)
		if err != nil {
			return err // the store's error says "rematch"
		}
		if n > 0 {
			p.rematched = int64(n)
			p.createdAny = true // their managers, and references to them, want resolving
			p.log.Info("pending records joined their people", "joined", n)
		}
	}
	if p.run != nil && p.sync.joins() {
		// A sync that joins reports what is pending now, not only what this run added:
		// an unchanged record that stays unmatched is not re-written, but still unmatched.
		u, d, err := p.engine.Store.PendingCounts(ctx, p.storeName)
		if err != nil {
			return err
		}
		p.unmatched, p.disputed = u, d
		if p.opts.Mode == connector.Full {
			p.linked = max(0, p.processed-p.created-p.joined-u-d-p.skipped-p.errors)
		}
	}
	if p.run != nil && p.managersNeedResolving() {
		start = time.Now()
		p.enter(PhaseResolving)
		n, err := p.run.ResolveManagers(ctx, p.resolveScope())
		if err != nil {
			return err // the store's error says "resolve managers"
		}
		p.log.Debug("managers resolved", "changed", n, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// resolveScope is what ResolveManagers must look at: the external IDs this run changed,
// or nil (the whole sync) when it changed many or the previous run may have left
// references unresolved.
func (p *pass) resolveScope() []string {
	if p.tooManyChanged || !p.previousRunClean {
		return nil
	}
	if p.changedIDs == nil {
		return []string{} // only created profiles: resolve what is unresolved
	}
	return p.changedIDs
}

// maxScopedResolve is the most changed IDs for which resolving only around them beats
// one pass over the whole sync.
const maxScopedResolve = 5000

// noteChanged remembers the external IDs of written changes for resolveScope.
func (p *pass) noteChanged(ids ...string) {
	if p.changedIDs == nil && p.tooManyChanged {
		return
	}
	if len(p.changedIDs)+len(ids) > maxScopedResolve {
		p.changedIDs, p.tooManyChanged = nil, true
		return
	}
	p.changedIDs = append(p.changedIDs, ids...)
}

// loadPreviousRun sets previousRunClean: whether the sync's previous run got to its end
// (succeeded, guarded or completed with errors), and so rematched pending records and
// resolved managers after its writes, rather than failing or being interrupted first.
func (p *pass) loadPreviousRun(ctx context.Context) {
	p.previousRunClean = true // the sync's first run: nothing was left undone before
	runs, err := p.engine.Store.Runs(ctx, p.sync.Name, 3)
	if err != nil {
		p.log.Warn("cannot read the previous run; rematching and resolving managers anyway", "err", err)
		p.previousRunClean = false
		return
	}
	for _, r := range runs {
		if r.ID == p.run.ID() {
			continue
		}
		p.previousRunClean = r.Status == store.StatusSucceeded || r.Status == store.StatusGuarded ||
			r.Status == store.StatusCompletedWithErrors
		break
	}
}

// rematchMayJoin reports whether the pending records of the syncs that join may match a
// profile now that did not when they were last tried: this run wrote (created, changed,
// joined, left pending) or withdrew something, or the sync's previous run may have
// written and stopped before its own Rematch. A run that wrote nothing after one that
// ended changed no profile since the last Rematch that could see it: on an unchanged
// source it skips the pass over every pending record (a write transaction of its own).
func (p *pass) rematchMayJoin() bool {
	return p.wroteAny || !p.previousRunClean
}

// managersNeedResolving reports whether manager references may have changed since they
// were last resolved: this run created, restored, moved, re-managed or deleted someone,
// or the sync's previous run did not get as far as resolving them (it failed or was
// interrupted). A run that only changed titles and phones has nothing to resolve.
func (p *pass) managersNeedResolving() bool {
	return len(p.changedIDs) > 0 || p.tooManyChanged || p.createdAny || !p.previousRunClean
}

// mappedBatch is a batch of records with, index by index, their mapping results (a
// zero Result for records that were not mapped: delta deletions and unchanged records;
// nil when none was), the content hash of each mapped profile (nil likewise), the source
// hash of each upsert and whether it is unchanged at the source; and what the store
// holds for the batch.
type mappedBatch struct {
	records   []connector.Record
	results   []mapper.Result
	hashes    [][32]byte
	sources   [][32]byte
	keys      [][2]uint64 // seen-set keys of the records' external IDs
	slots     []int       // where the stored index has each key (storedIndex.find)
	unchanged []bool
	stored    map[string]store.Stored
}

// stream reads, maps and writes every record, each stage in its own goroutines.
func (p *pass) stream(ctx context.Context, req connector.ReadRequest) error {
	batchSize := p.sync.BatchSize
	if batchSize <= 0 {
		batchSize = 1000
	}
	g, gctx := errgroup.WithContext(ctx)
	var readErr error
	// Channels hold one batch each: every batch in flight is memory, and the workers
	// already give each stage its slack.
	read := make(chan []pending, 1)
	mapped := make(chan mappedBatch, 1)

	if req.Mode == connector.Full {
		// Loaded while the connector starts and sends its first batch.
		p.indexReady = make(chan struct{})
		p.stopWaiting = make(chan struct{})
		g.Go(func() error {
			start := time.Now()
			idx, err := loadStoredIndex(gctx, p.engine.Store, p.storeName, p.seen)
			if err != nil {
				return fmt.Errorf("load the sync's links: %w", err)
			}
			p.index = idx
			close(p.indexReady)
			p.log.Debug("links loaded", "links", len(idx.entries), "took", time.Since(start).Round(time.Millisecond))
			return nil
		})
	}

	// The reader hands its batches to the dispatcher, which passes them on to the
	// workers. While the index loads, the dispatcher holds them back (see backlog) so
	// that the connector keeps sending; the moment it is loaded, the dispatcher passes on
	// what it holds, whether or not the connector has sent anything since. (A connector
	// that waits on a slow directory must not leave the batches it sent unwritten.)
	incoming := make(chan []pending)
	g.Go(func() error {
		defer close(read)
		var held backlog
		forward := func(batches ...[]pending) error {
			for _, b := range batches {
				select {
				case read <- b:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			return nil
		}
		ready := p.indexReady // nil for a delta read: never ready, nothing is held
		for {
			select {
			case b, ok := <-incoming:
				if !ok {
					return forward(held.release()...)
				}
				if held.hold(p, b) {
					continue
				}
				if err := forward(append(held.release(), b)...); err != nil {
					return err
				}
			case <-ready:
				// hold sees the index loaded too, and holds no more.
				ready = nil
				if err := forward(held.release()...); err != nil {
					return err
				}
			case <-gctx.Done():
				return gctx.Err()
			}
		}
	})

	g.Go(func() error {
		defer close(incoming)
		batch := make([]pending, 0, batchSize)
		send := func() error {
			select {
			case incoming <- batch:
			case <-gctx.Done():
				return gctx.Err()
			}
			batch = make([]pending, 0, batchSize)
			return nil
		}
		add := func(r pending) error {
			batch = append(batch, r)
			if len(batch) < batchSize {
				return nil
			}
			return send()
		}
		// Records stay in the batches they arrived in until prepare knows which it
		// needs decoded: most, in an unchanged directory, it does not.
		end, err := readerOf(p.sync.Connector).ReadRaw(gctx, req, func(b *protocol.RawBatch) error {
			p.progress.read.Add(int64(b.Len()))
			p.report()
			for i := range b.Len() {
				if err := add(pending{raw: b, i: i}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			// The records that arrived before the failure are still mapped and written
			// (whole batches, so the next run has less to do); the run then fails and
			// concludes nothing from the read.
			readErr = fmt.Errorf("read from connector: %w", err)
			return nil
		}
		p.end = end
		if len(batch) > 0 {
			return send()
		}
		return nil
	})

	var workers sync.WaitGroup
	for range mapWorkers() {
		workers.Add(1)
		g.Go(func() error {
			defer workers.Done()
			for batch := range read {
				mb, err := p.prepare(gctx, batch)
				if err != nil {
					return err
				}
				select {
				case mapped <- mb:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			return nil
		})
	}
	go func() {
		workers.Wait()
		close(mapped)
	}()

	// The comparer takes no new batch once the run is cancelled, but the batch it is
	// writing commits: a shutdown stops at a batch boundary, not inside one.
	wctx, wcancel := context.WithCancel(context.WithoutCancel(gctx))
	defer wcancel()
	stopGrace := context.AfterFunc(gctx, func() { time.AfterFunc(batchGrace, wcancel) })
	defer stopGrace()
	// The comparer compares and counts, one batch at a time; the appliers write its
	// changes, several batches at once (each in its own transaction).
	applies := make(chan []store.Change, 1)
	g.Go(func() error {
		defer close(applies)
		for mb := range mapped {
			if err := gctx.Err(); err != nil {
				return err
			}
			changes, err := p.compare(wctx, mb)
			if err != nil {
				return err
			}
			if len(changes) == 0 {
				continue
			}
			select {
			case applies <- changes:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range appliers {
		g.Go(func() error {
			for changes := range applies {
				ar, err := p.run.Apply(wctx, changes)
				if err != nil {
					return fmt.Errorf("write %d changes: %w", len(changes), err)
				}
				p.countMu.Lock()
				p.wroteAny = true
				p.created += int64(ar.Created)
				p.updated += int64(ar.Updated)
				p.joined += int64(ar.Joined)
				p.unmatched += int64(ar.Unmatched)
				p.disputed += int64(ar.Disputed)
				p.countMu.Unlock()
				p.progress.written.Add(int64(ar.Created + ar.Updated))
				p.report()
			}
			return nil
		})
	}
	err := g.Wait()
	if err == nil {
		err = readErr
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return err
}

// prepare looks up what the store holds for a batch and maps the records that changed
// at the source, hashing their profiles: the work that can run for several batches at
// once, ahead of the one comparer. A record whose source hash is the stored one is marked
// unchanged and not mapped at all. In a full read the stored index settles most records
// (unchanged, or new) without a lookup; only the rest are looked up.
func (p *pass) prepare(ctx context.Context, items []pending) (mappedBatch, error) {
	n := len(items)
	batch := make([]connector.Record, n)
	// results and hashes wait until a record is to be mapped: an unchanged run maps none.
	mb := mappedBatch{
		records: batch, sources: make([][32]byte, n), unchanged: make([]bool, n),
		keys: make([][2]uint64, n), slots: make([]int, n),
	}
	ids := make([]string, 0, n)
	index, err := p.awaitIndex(ctx)
	if err != nil {
		return mb, err
	}
	// The seen-set keys, for the comparer, hashed and found here in parallel: first for
	// the whole batch, as the look-ups, independent of one another, then wait on memory
	// together rather than each between two records' source hashes.
	for i := range items {
		it := &items[i]
		id := it.raw.ID(it.i)
		batch[i].ID = id
		mb.slots[i] = unlocated
		if id != "" {
			mb.keys[i] = p.seen.key(id)
			mb.slots[i] = index.find(mb.keys[i])
		}
	}
	var hasher sourceHasher
	for i := range items {
		it := &items[i]
		id, kind := batch[i].ID, it.raw.Kind(it.i)
		state := linkUnknown
		if kind == connector.Upsert && id != "" {
			mb.sources[i] = hasher.sum(p.salt, it.raw, it.i)
			state = index.state(mb.slots[i], &mb.sources[i])
		}
		if state == linkUnchanged {
			// The comparer needs no more of it than this.
			batch[i] = connector.Record{ID: id, Kind: kind}
			mb.unchanged[i] = true
			continue
		}
		// Only the mapping needs the attributes; it takes them from the batch.
		batch[i] = connector.Record{ID: id, DN: it.raw.DN(it.i), Kind: kind}
		if kind == connector.Invalid {
			batch[i].Problem = it.raw.Problem(it.i)
		}
		if kind == connector.Upsert && id != "" && state == linkUnknown {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		stored, err := p.engine.Store.Lookup(ctx, p.storeName, ids)
		if err != nil {
			return mb, fmt.Errorf("look up stored profiles: %w", err)
		}
		mb.stored = stored
	}
	toMap := make([]mapper.Input, 0, n)
	at := make([]int, 0, n)
	for i := range batch {
		r := &batch[i]
		if r.Kind != connector.Upsert || mb.unchanged[i] {
			continue
		}
		if st, ok := mb.stored[r.ID]; ok && r.ID != "" && !st.Deleted && bytes.Equal(st.SourceHash, mb.sources[i][:]) {
			mb.unchanged[i] = true
			continue
		}
		toMap = append(toMap, mapper.Input{Raw: items[i].raw, I: items[i].i})
		at = append(at, i)
	}
	if len(toMap) == 0 {
		return mb, nil
	}
	if r, ok := p.sync.Mapper.(readier); ok {
		if err := r.Ready(ctx); err != nil {
			return mb, fmt.Errorf("mapping: %w", err)
		}
	}
	mb.results, mb.hashes = make([]mapper.Result, n), make([][32]byte, n)
	for j, res := range p.sync.Mapper.MapInputs(ctx, toMap) {
		i := at[j]
		if res.Err == nil && res.SkipReason == "" && res.Profile != nil {
			if err := CheckProfile(res.Profile, p.sync.RequiredFields); err != nil {
				res = mapper.Result{Err: err}
			} else {
				mb.hashes[i] = res.Profile.Hash(p.salt)
			}
		}
		mb.results[i] = res
	}
	return mb, nil
}

// readier is a Mapper that may still be loading: Ready waits for it and says why it
// cannot map at all, which fails the run instead of every record.
type readier interface {
	Ready(ctx context.Context) error
}

// pending is one record of a read on its way to prepare, in the batch it arrived in.
type pending struct {
	raw *protocol.RawBatch
	i   int
}

// awaitIndex returns the index of the sync's links once it is loaded, or nil at once
// for a delta read, or nil when the reader stopped the wait.
func (p *pass) awaitIndex(ctx context.Context) (*storedIndex, error) {
	if p.indexReady == nil {
		return nil, nil
	}
	// A loaded index wins over a wait the reader ended meanwhile: a select between two
	// ready cases would pick either.
	select {
	case <-p.indexReady:
		return p.index, nil
	default:
	}
	select {
	case <-p.indexReady:
		return p.index, nil
	case <-p.stopWaiting:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// maxBacklogBytes bounds the batches a full read holds back while the links index
// loads: about 0.6 s of reading from a local slapd, far more than 100,000 links take
// to load.
const maxBacklogBytes = 32 << 20

// backlog holds the batches a full read returns while the links index loads. Without
// it, the map workers would either stand idle with the connector and the directory
// behind them, or look every record of those batches up in the store: at 100,000
// unchanged people the index took ~190 ms, and the lookups meanwhile cost the
// unchanged sync ~5% of its time.
type backlog struct {
	batches [][]pending
	bytes   int
	over    bool // the wait is over: the index is loaded, or the backlog filled
}

// hold keeps batch back if the index is still loading and there is room, and says
// whether it did. A full backlog ends the workers' wait (see full).
func (h *backlog) hold(p *pass, batch []pending) bool {
	if h.over || p.indexReady == nil {
		return false
	}
	select {
	case <-p.indexReady:
		h.over = true
		return false
	default:
	}
	limit := maxBacklogBytes
	if p.engine.backlogLimit > 0 {
		limit = p.engine.backlogLimit
	}
	size := pendingBytes(batch)
	if h.bytes+size > limit {
		h.full(p)
		return false
	}
	h.batches = append(h.batches, batch)
	h.bytes += size
	return true
}

// full ends the workers' wait for the index: the batches held back, and all to come,
// go to them now, and they look up what the index cannot tell yet.
func (h *backlog) full(p *pass) {
	if !h.over && p.stopWaiting != nil {
		close(p.stopWaiting)
	}
	h.over = true
}

// release returns the batches held back, oldest first, and empties the backlog.
func (h *backlog) release() [][]pending {
	b := h.batches
	h.batches, h.bytes = nil, 0
	return b
}

// pendingBytes estimates the memory a batch of pending records holds: each raw batch
// it draws from, once.
func pendingBytes(batch []pending) int {
	n := 0
	var last *protocol.RawBatch
	for i := range batch {
		if raw := batch[i].raw; raw != last {
			n += raw.Size()
			last = raw
		}
	}
	return n
}

// compare compares one prepared batch with the store and returns the changes the
// appliers are to write (a dry run plans them instead, and returns none). It alone keeps
// the run's counts, but for what the appliers write, and the set of IDs seen; it writes
// only the bookkeeping of unchanged records (their new source hashes) and record errors.
func (p *pass) compare(ctx context.Context, mb mappedBatch) ([]store.Change, error) {
	var changes []store.Change // made when the first change comes: most batches have none
	var sourceHashes map[string][]byte
	if p.seen.index == nil && p.indexReady != nil {
		select {
		case <-p.indexReady:
			// From now on the IDs the index has are seen as its bits (see seenSet).
			p.seen.attach(p.index)
		default:
		}
	}
	for i := range mb.records {
		r := &mb.records[i]
		p.processed++
		if !storableText(r.ID) {
			// Stored, it would lose bytes and might become another person's ID.
			p.unidentifiedRecord(fmt.Sprintf("record with the external ID %s, which is not UTF-8 text without NUL bytes", quote(r.ID)))
			continue
		}
		if r.Kind == connector.Invalid {
			p.invalid(r, mb.keys[i], mb.slots[i])
			continue
		}
		if r.ID == "" {
			p.unidentifiedRecord("record without an external ID (DN " + quote(r.DN) + ")")
			continue
		}
		key, slot := mb.keys[i], mb.slots[i]
		if p.seen.contains(key, slot) {
			p.recordError(r.ID, "duplicate external ID in one read: the later record was ignored")
			continue
		}
		if r.Kind == connector.Delete {
			p.deltaDeletes = append(p.deltaDeletes, r.ID)
			continue
		}
		if mb.unchanged[i] {
			p.seen.insert(key, slot)
			p.unchanged++
			p.linked++
			continue
		}
		if !storableText(r.DN) {
			p.seen.insert(key, slot)
			p.recordError(r.ID, fmt.Sprintf("the record's DN %s is not UTF-8 text without NUL bytes", quote(r.DN)))
			continue
		}
		// Every upsert with an ID that is not unchanged was mapped: mb.results is made.
		res := &mb.results[i]
		switch {
		case res.Err != nil:
			p.seen.insert(key, slot)
			p.recordError(r.ID, res.Err.Error())
		case res.SkipReason != "":
			p.skip(r.ID, res.SkipReason)
		case res.Profile == nil:
			p.seen.insert(key, slot)
			p.recordError(r.ID, "mapping returned neither a profile nor a skip")
		default:
			p.seen.insert(key, slot)
			hash := mb.hashes[i]
			st, linked := mb.stored[r.ID]
			if linked && st.ProfileID != "" {
				p.linked++
			}
			if linked && !st.Deleted && bytes.Equal(st.Hash, hash[:]) {
				// The source changed in a way the mapping ignores: remember the new source
				// so the next run need not map it again.
				p.unchanged++
				if sourceHashes == nil {
					sourceHashes = make(map[string][]byte)
				}
				sourceHashes[r.ID] = mb.sources[i][:]
				continue
			}
			if st.ProfileID == "" && p.sync.joins() && !hasJoinKey(res.Profile, p.sync.Roles.Join) {
				p.keyless++
				if p.keyless == 1 {
					p.log.Warn("a record has none of the sync's join keys, so it can never join a person; does the mapping produce them?",
						"external_id", r.ID, "join", p.sync.Roles.Join)
				}
			}
			if changes == nil {
				changes = make([]store.Change, 0, len(mb.records)-i)
			}
			changes = append(changes, store.Change{
				ExternalID: r.ID, DN: r.DN, ProfileID: st.ProfileID,
				Profile: *res.Profile, Hash: hash[:], SourceHash: mb.sources[i][:],
			})
			// Manager references can change only around people who are new, return,
			// move (DN) or get another manager. New people need no scope of their own:
			// Apply sets their managers where it can see them, and a scoped resolution
			// covers every reference still unresolved (theirs, and older ones to them).
			switch {
			case !linked:
				p.createdAny = true
			case st.Deleted || st.DN != r.DN || st.ManagerRef != res.Profile.Manager:
				p.noteChanged(r.ID)
			}
		}
	}
	p.progress.mapped.Store(p.processed)
	p.report()
	if err := p.maybeFlushErrors(ctx); err != nil {
		return nil, err
	}
	if p.run != nil && len(sourceHashes) > 0 {
		if err := p.run.SetSourceHashes(ctx, sourceHashes); err != nil {
			return nil, fmt.Errorf("record source hashes: %w", err)
		}
	}
	if len(changes) == 0 || p.run != nil {
		return changes, nil
	}
	return nil, p.plan(ctx, changes)
}

// maxSkipReasons is how many different reasons for skipping records a run keeps.
const maxSkipReasons = 10

// skip counts a record the mapping skipped and keeps its reason, among the first few.
func (p *pass) skip(externalID, reason string) {
	p.skipped++
	for i := range p.skips {
		if p.skips[i].Reason == reason {
			p.skips[i].Count++
			return
		}
	}
	if len(p.skips) < maxSkipReasons {
		p.skips = append(p.skips, Skip{Reason: reason, Count: 1, ExampleID: externalID})
	}
	if p.skipped <= 10 {
		p.log.Debug("record skipped by the mapping", "external_id", externalID, "reason", reason)
	}
}

// invalid handles a record the connector could not read: a record error that protects
// the profile of its ID, if it has one, from change and deletion.
func (p *pass) invalid(r *connector.Record, key [2]uint64, slot int) {
	msg := r.Problem
	if msg == "" {
		msg = "the connector could not read this record (it gave no reason)"
	}
	if r.ID == "" {
		p.unidentifiedRecord(msg)
		return
	}
	p.seen.insert(key, slot)
	p.recordError(r.ID, msg)
}

// unidentifiedRecord counts a record error without an external ID: the run cannot tell
// whose record it was, so it will delete nobody.
func (p *pass) unidentifiedRecord(msg string) {
	if p.unidentified == 0 {
		p.firstUnknown = msg
	}
	p.unidentified++
	p.recordError("", msg)
}

// recordError counts a per-record error and keeps it for the run's error table.
func (p *pass) recordError(externalID, msg string) {
	p.errors++
	p.errs = append(p.errs, store.RecordError{ExternalID: externalID, Message: msg})
	if p.errors <= 10 {
		p.log.Warn("record failed", "external_id", externalID, "err", msg)
	}
}

func (p *pass) maybeFlushErrors(ctx context.Context) error {
	if len(p.errs) < errorFlushSize {
		return nil
	}
	return p.flushErrors(ctx)
}

func (p *pass) flushErrors(ctx context.Context) error {
	if p.run == nil || len(p.errs) == 0 {
		p.errs = p.errs[:0]
		return nil
	}
	if err := p.run.RecordErrors(ctx, p.errs); err != nil {
		return fmt.Errorf("record %d record errors: %w", len(p.errs), err)
	}
	p.errs = p.errs[:0]
	return nil
}

// deletions soft-deletes, after a complete read, the profiles the source no longer has,
// unless the guard stops it.
func (p *pass) deletions(ctx context.Context) error {
	if p.opts.Mode == connector.Delta && len(p.deltaDeletes) == 0 {
		return nil // a delta read concludes nothing from absence
	}
	if p.opts.Mode == connector.Full && p.index.unseenLive(p.seen) == 0 {
		return nil // the read returned every live profile: nothing to delete or to list
	}
	var gone []string
	live := 0
	err := p.engine.Store.LiveExternalIDs(ctx, p.storeName, func(id string) error {
		live++
		if p.opts.Mode == connector.Full {
			if !p.seen.has(id) {
				gone = append(gone, id)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list live profiles: %w", err)
	}
	if p.opts.Mode == connector.Delta {
		gone = p.deltaDeletes
	}
	p.wouldDelete = int64(len(gone))
	if len(gone) == 0 {
		return nil
	}
	if reason := p.guardReason(len(gone), live); reason != "" {
		p.status = store.StatusGuarded
		p.message = reason
		p.log.Warn("deletion guard: deleting nothing", "would_delete", len(gone), "live", live, "reason", reason)
		if p.run == nil {
			p.planDeletes(ctx, gone)
		}
		return nil
	}
	if p.run == nil {
		p.deleted = int64(len(gone))
		p.planDeletes(ctx, gone)
		return nil
	}
	for len(gone) > 0 {
		n := min(len(gone), 1000)
		p.wroteAny = true // a drop withdraws fields even when it deactivates nobody
		d, err := p.run.SoftDelete(ctx, gone[:n])
		if err != nil {
			return err // the store's error says "soft delete"
		}
		p.noteChanged(gone[:n]...)
		p.deleted += int64(d)
		gone = gone[n:]
	}
	return nil
}

// guardReason says why deleting n of live profiles is not allowed, or "" if it is.
func (p *pass) guardReason(n, live int) string {
	g := p.sync.Guard
	if p.unidentified > 0 {
		return fmt.Sprintf("%d records have no external ID (the first: %s): any of them could be a person who would be deleted, so the run deletes nobody; fix the source and run again",
			p.unidentified, p.firstUnknown)
	}
	if p.processed > 0 {
		rate := float64(p.errors) * 100 / float64(p.processed)
		if rate > g.MaxErrorPercent {
			return fmt.Sprintf("%d of %d records failed (%.1f%%, limit %.1f%%): a run with that many errors deletes nothing",
				p.errors, p.processed, rate, g.MaxErrorPercent)
		}
	}
	if p.opts.AllowDeletes >= n {
		return ""
	}
	allow := fmt.Sprintf("; run `peoplesync sync --sync %s --allow-deletes %d` to allow it once", p.sync.Name, n)
	if p.opts.Mode == connector.Full && p.processed == 0 {
		return fmt.Sprintf("the read returned no records but %d profiles are live", live) + allow
	}
	if n > g.MaxCount {
		return fmt.Sprintf("would delete %d profiles, more than max_count %d", n, g.MaxCount) + allow
	}
	if pct := float64(n) * 100 / float64(max(live, 1)); pct > g.MaxPercent {
		return fmt.Sprintf("would delete %d of %d profiles (%.1f%%), more than max_percent %.1f%%", n, live, pct, g.MaxPercent) + allow
	}
	return ""
}

// IsLockLost reports whether err means that a run lost its sync's lock.
func IsLockLost(err error) bool { return errors.Is(err, store.ErrLockLost) }

// hasJoinKey reports whether pr has a value for one of the join keys.
func hasJoinKey(pr *profile.Profile, keys []string) bool {
	for _, k := range keys {
		if strings.TrimSpace(store.FieldValue(pr, k)) != "" {
			return true
		}
	}
	return false
}
