package scheduler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/store"
)

// Metrics are the scheduler's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	runs        *prometheus.CounterVec
	records     *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
	lastErrors  *prometheus.GaugeVec
	people      *prometheus.CounterVec
	pending     *prometheus.GaugeVec
	lockHeld    *prometheus.GaugeVec
}

// durationBuckets are the run-duration histogram's upper bounds in seconds, from an
// unchanged run of a small directory to an hour's initial sync, written out: computed
// ones (ExponentialBuckets(0.1, 3, 10)) gave labels like le="0.30000000000000004".
var durationBuckets = []float64{0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000, 3600}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peoplesync_runs_total",
			Help: "Runs this replica ran, by sync, mode and final status.",
		}, []string{"sync", "mode", "status"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peoplesync_records_total",
			Help: "Records handled by this replica's runs, by sync and action (created, updated, unchanged, skipped by the mapping, deleted, error).",
		}, []string{"sync", "action"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "peoplesync_run_duration_seconds",
			Help:    "Duration of this replica's runs, by sync and mode.",
			Buckets: durationBuckets,
		}, []string{"sync", "mode"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "peoplesync_last_success_timestamp_seconds",
			Help: "Unix time at which this replica last finished a run of the sync that succeeded.",
		}, []string{"sync", "mode"}),
		lastErrors: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "peoplesync_last_run_record_errors",
			Help: "Records the sync's last run on this replica could not apply (alert on > 0: the run ended completed_with_errors or failed).",
		}, []string{"sync", "mode"}),
		people: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peoplesync_join_records_total",
			Help: "Records of syncs that join, by how they found their person: linked (by their link) or joined (by a join key).",
		}, []string{"sync", "outcome"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "peoplesync_pending_records",
			Help: "Records of a sync that joins kept without a profile after its last run on this replica, by situation (unmatched, disputed; alert on disputed > 0).",
		}, []string{"sync", "situation"}),
		lockHeld: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "peoplesync_lock_held",
			Help: "1 while this replica holds the sync's lock, else 0.",
		}, []string{"sync"}),
	}
	for _, c := range []prometheus.Collector{m.runs, m.records, m.duration, m.lastSuccess, m.lastErrors, m.people, m.pending, m.lockHeld} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// declare makes the job's series exist at zero, so that dashboards see them from start.
func (m *Metrics) declare(j Job) {
	if m == nil {
		return
	}
	m.lockHeld.WithLabelValues(j.Sync).Set(0)
	m.duration.WithLabelValues(j.Sync, j.Mode)
	m.lastErrors.WithLabelValues(j.Sync, j.Mode).Set(0)
	for _, a := range []string{"created", "updated", "unchanged", "skipped", "deleted", "error"} {
		m.records.WithLabelValues(j.Sync, a)
	}
}

func (m *Metrics) held(sync string, held bool) {
	if m == nil {
		return
	}
	v := 0.0
	if held {
		v = 1
	}
	m.lockHeld.WithLabelValues(sync).Set(v)
}

func (m *Metrics) observe(j Job, res engine.Result, d time.Duration, now time.Time) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(j.Sync, j.Mode, res.Status).Inc()
	m.duration.WithLabelValues(j.Sync, j.Mode).Observe(d.Seconds())
	for action, n := range map[string]int64{"created": res.Created, "updated": res.Updated,
		"unchanged": res.Unchanged, "skipped": res.Skipped, "deleted": res.Deleted, "error": res.Errors} {
		m.records.WithLabelValues(j.Sync, action).Add(float64(n))
	}
	m.lastErrors.WithLabelValues(j.Sync, j.Mode).Set(float64(res.Errors))
	if res.Joins {
		m.people.WithLabelValues(j.Sync, "linked").Add(float64(res.Linked))
		m.people.WithLabelValues(j.Sync, "joined").Add(float64(res.Joined))
		m.pending.WithLabelValues(j.Sync, "unmatched").Set(float64(res.Unmatched))
		m.pending.WithLabelValues(j.Sync, "disputed").Set(float64(res.Disputed))
	}
	if res.Status == store.StatusSucceeded {
		m.lastSuccess.WithLabelValues(j.Sync, j.Mode).Set(float64(now.Unix()))
	}
}
