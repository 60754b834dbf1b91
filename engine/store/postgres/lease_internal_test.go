package postgres

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
)

// frozenReader is the data of a COPY whose sender froze: it closes started on the first
// read and then blocks until stop closes.
type frozenReader struct {
	started, stop chan struct{}
}

func (f *frozenReader) Read([]byte) (int, error) {
	close(f.started)
	<-f.stop
	return 0, io.EOF
}

// A holder frozen in the middle of a COPY (SIGSTOP, a paused VM) keeps its lease row
// locked, and Postgres does not time a COPY out while it waits for data. Once the lease
// has expired, the next run to begin ends the frozen holder's sessions and takes over;
// the holder's write then fails with the lock lost.
func TestTakerEndsAHolderFrozenInACopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, pgtest.NewDatabase(t), Options{LeaseTTL: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := s.BeginRun(ctx, "hr", "full", "a")
	if err != nil {
		t.Fatal(err)
	}
	frozen := &frozenReader{started: make(chan struct{}), stop: make(chan struct{})}
	var thaw sync.Once
	defer thaw.Do(func() { close(frozen.stop) })
	written := make(chan error, 1)
	go func() {
		written <- a.(*run).write(ctx, "frozen copy", func(tx pgx.Tx) error {
			_, err := tx.Conn().PgConn().CopyFrom(ctx, frozen, "COPY profiles (display_name) FROM STDIN")
			return err
		})
	}()
	<-frozen.started
	// A frozen process renews nothing either (the renewal no longer waits behind a
	// write's fence, so it would keep the lease alive).
	ar := a.(*run)
	ar.cancel()
	<-ar.done

	deadline := time.Now().Add(20 * time.Second)
	var b store.Run
	for {
		bctx, cancel := context.WithDeadline(ctx, deadline)
		b, err = s.BeginRun(bctx, "hr", "full", "b")
		cancel()
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrLocked) || time.Now().After(deadline) {
			t.Fatalf("taking over from a holder frozen in a COPY: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer b.Finish(ctx, store.Summary{Status: store.StatusSucceeded})
	thaw.Do(func() { close(frozen.stop) })
	if err := <-written; !errors.Is(err, store.ErrLockLost) {
		t.Errorf("the frozen holder's write = %v, want ErrLockLost", err)
	}
}
