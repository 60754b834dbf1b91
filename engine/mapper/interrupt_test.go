package mapper_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/engine/mapper"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// With the default options, a record whose mapping loops forever fails alone, out of
// time, and the rest of its batch maps. (It takes two default limits, 20 s: the batch's
// call, then the record's own.)
func TestEndlessLoopFailsItsRecordByDefault(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for the default time limit twice")
	}
	mp := newMapper(t, compile(t, "trap", mapper.Options{}), "")
	batch := []connector.Record{rec("a"), rec("loop"), rec("b")}
	res := mp.Map(context.Background(), batch)
	for _, i := range []int{0, 2} {
		if res[i].Profile == nil || res[i].Profile.Get(profile.UserName) != "u-"+batch[i].ID {
			t.Errorf("record %s: %+v", batch[i].ID, res[i])
		}
	}
	want := "mapping trapped: peoplesync_map ran out of time (limit 10s)"
	if err := res[1].Err; !errors.Is(err, mapper.ErrTrapped) || err.Error() != want {
		t.Errorf("record loop: %v, want %q", err, want)
	}
	if mp.Stuck() {
		t.Error("one endless record made the mapper stuck")
	}
}

// While a guest loops, the garbage collector can stop the world, and cancelling the
// call's context stops the call.
func TestLoopingGuestLetsGCRunAndStopsOnCancel(t *testing.T) {
	t.Parallel()
	var ticks atomic.Int64
	ticked := make(chan struct{}, 1)
	opts := mapper.WithOnTick(mapper.Options{Instances: 1, CallTimeout: time.Hour}, func() {
		ticks.Add(1)
		select {
		case ticked <- struct{}{}:
		default:
		}
	})
	mp := newMapper(t, compile(t, "trap", opts), "")
	ticks.Store(0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan []mapper.Result)
	go func() { done <- mp.Map(ctx, []connector.Record{rec("loop")}) }()
	// Mapping a record passes far fewer than 2^16 loop headers: three ticks mean the
	// guest is in its loop.
	for ticks.Load() < 3 {
		<-ticked
	}
	gcDone := make(chan struct{})
	go func() {
		runtime.GC()
		close(gcDone)
	}()
	select {
	case <-gcDone:
	case res := <-done:
		t.Fatalf("the endless loop returned: %+v", res)
	}
	select {
	case res := <-done:
		t.Fatalf("the endless loop returned before it was cancelled: %+v", res)
	default:
	}
	cancel()
	res := <-done
	if !errors.Is(res[0].Err, context.Canceled) {
		t.Errorf("after cancel: %+v, want context.Canceled", res[0])
	}
	if mp.Stuck() {
		t.Error("a cancelled call counted toward the stuck rule")
	}
	// The mapper goes on with a fresh instance.
	if res := mp.Map(context.Background(), []connector.Record{rec("a")}); res[0].Profile == nil {
		t.Errorf("after the cancelled call: %+v", res[0])
	}
}

// A module that runs out of time on StuckAfter records in a row fails the rest at once.
func TestStuckModuleFailsTheRestAtOnce(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		ids   []string
		stuck bool
	}{
		{"every record loops", []string{"loop", "loop", "loop", "loop", "loop", "loop", "loop", "loop"}, true},
		{"not in a row", []string{"loop", "loop", "a", "loop", "loop", "b"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			limit := 250 * time.Millisecond
			mp := newMapper(t, compile(t, "trap", mapper.Options{Instances: 1, CallTimeout: limit}), "")
			recs := make([]connector.Record, len(tc.ids))
			for i, id := range tc.ids {
				recs[i] = rec(id)
			}
			res := mp.Map(context.Background(), recs)
			var outOfTime, stuck int
			for i, r := range res {
				switch {
				case errors.Is(r.Err, mapper.ErrStuck):
					stuck++
					want := "mapping trapped: the module looks stuck: 3 records in a row ran out of time (limit 250ms); not mapped"
					if r.Err.Error() != want || !errors.Is(r.Err, mapper.ErrTrapped) {
						t.Errorf("record %d: %q, want %q wrapping ErrTrapped", i, r.Err, want)
					}
				case r.Err != nil && strings.Contains(r.Err.Error(), "ran out of time (limit 250ms)"):
					outOfTime++
				case tc.ids[i] == "loop":
					t.Errorf("record %d (loop): %+v", i, r)
				case r.Profile == nil:
					t.Errorf("record %d (%s): %+v", i, tc.ids[i], r)
				}
			}
			if !tc.stuck {
				if stuck != 0 || mp.Stuck() || outOfTime != 4 {
					t.Errorf("%d out of time, %d stuck, Stuck() %v; want 4, 0, false", outOfTime, stuck, mp.Stuck())
				}
				return
			}
			if outOfTime != mapper.StuckAfter || stuck != len(recs)-mapper.StuckAfter || !mp.Stuck() {
				t.Errorf("%d out of time, %d stuck, Stuck() %v; want %d, %d, true",
					outOfTime, stuck, mp.Stuck(), mapper.StuckAfter, len(recs)-mapper.StuckAfter)
			}
			// Stuck stays: the next call fails without calling the module.
			if res := mp.Map(context.Background(), []connector.Record{rec("a")}); !errors.Is(res[0].Err, mapper.ErrStuck) {
				t.Errorf("after stuck: %+v, want ErrStuck", res[0])
			}
		})
	}
}
