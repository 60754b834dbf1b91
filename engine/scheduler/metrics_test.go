package scheduler

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/store"
)

// A run with record errors shows in the metrics as what it is: counted under its own
// status, its errors in the last-run gauge, and never as the sync's last success. The
// next clean run brings the gauge back to zero.
func TestMetricsShowRecordErrors(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	j := Job{Sync: "hr", Mode: "full"}
	m.declare(j)
	now := time.Unix(1_800_000_000, 0)

	m.observe(j, engine.Result{Status: store.StatusCompletedWithErrors, Processed: 10, Created: 7, Errors: 3}, time.Second, now)
	want := `
# HELP peoplesync_last_run_record_errors Records the sync's last run on this replica could not apply (alert on > 0: the run ended completed_with_errors or failed).
# TYPE peoplesync_last_run_record_errors gauge
peoplesync_last_run_record_errors{mode="full",sync="hr"} 3
# HELP peoplesync_runs_total Runs this replica ran, by sync, mode and final status.
# TYPE peoplesync_runs_total counter
peoplesync_runs_total{mode="full",status="completed_with_errors",sync="hr"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "peoplesync_last_run_record_errors", "peoplesync_runs_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.lastSuccess); n != 0 {
		t.Errorf("a run with record errors set the last-success time (%d series)", n)
	}
	if got := testutil.ToFloat64(m.records.WithLabelValues("hr", "error")); got != 3 {
		t.Errorf("error records counted %v, want 3", got)
	}

	m.observe(j, engine.Result{Status: store.StatusSucceeded, Processed: 10, Updated: 3, Unchanged: 5, Skipped: 2}, time.Second, now.Add(time.Hour))
	for action, want := range map[string]float64{"unchanged": 5, "skipped": 2} {
		if got := testutil.ToFloat64(m.records.WithLabelValues("hr", action)); got != want {
			t.Errorf("%s records counted %v, want %v", action, got, want)
		}
	}
	if got := testutil.ToFloat64(m.lastErrors.WithLabelValues("hr", "full")); got != 0 {
		t.Errorf("after a clean run the last-run errors gauge is %v, want 0", got)
	}
	if got := testutil.ToFloat64(m.lastSuccess.WithLabelValues("hr", "full")); got != float64(now.Add(time.Hour).Unix()) {
		t.Errorf("last success %v, want the clean run's end", got)
	}
}

// The duration histogram's bucket labels read as written: no float noise such as
// le="0.30000000000000004".
func TestDurationBucketLabels(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.observe(Job{Sync: "hr", Mode: "full"}, engine.Result{Status: store.StatusSucceeded}, 2*time.Second, time.Unix(1_800_000_000, 0))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range families {
		if f.GetName() != "peoplesync_run_duration_seconds" {
			continue
		}
		for _, metric := range f.GetMetric() {
			for _, b := range metric.GetHistogram().GetBucket() {
				seen++
				if label := strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64); len(label) > 5 {
					t.Errorf("bucket label le=%q", label)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no duration buckets gathered")
	}
}

// A joining sync's runs count how its records found their people, and the pending
// gauge says what is unmatched or disputed now (a state, not a sum); a sync that joins
// nobody adds no such series.
func TestMetricsOfAJoiningSync(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	ad, hr := Job{Sync: "ad", Mode: "full"}, Job{Sync: "hr", Mode: "full"}
	now := time.Unix(1_800_000_000, 0)
	m.observe(hr, engine.Result{Status: store.StatusSucceeded, Processed: 10, Created: 10}, time.Second, now)
	m.observe(ad, engine.Result{Status: store.StatusSucceeded, Processed: 10, Joins: true, Joined: 7, Unmatched: 2, Disputed: 1}, time.Second, now)
	m.observe(ad, engine.Result{Status: store.StatusSucceeded, Processed: 10, Joins: true, Linked: 8, Joined: 1, Unmatched: 1}, time.Second, now)
	want := `
# HELP peoplesync_join_records_total Records of syncs that join, by how they found their person: linked (by their link) or joined (by a join key).
# TYPE peoplesync_join_records_total counter
peoplesync_join_records_total{outcome="joined",sync="ad"} 8
peoplesync_join_records_total{outcome="linked",sync="ad"} 8
# HELP peoplesync_pending_records Records of a sync that joins kept without a profile after its last run on this replica, by situation (unmatched, disputed; alert on disputed > 0).
# TYPE peoplesync_pending_records gauge
peoplesync_pending_records{situation="disputed",sync="ad"} 0
peoplesync_pending_records{situation="unmatched",sync="ad"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "peoplesync_join_records_total", "peoplesync_pending_records"); err != nil {
		t.Error(err)
	}
}
