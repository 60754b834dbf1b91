package scheduler

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/peoplesync/peoplesync/config"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Modes of a job, as recorded in runs.
const (
	ModeFull  = "full"
	ModeDelta = "delta"
)

// Job is one schedule of one sync: its full schedule or its delta schedule.
type Job struct {
	Sync string
	// Mode is ModeFull or ModeDelta.
	Mode string
	// Spec is the schedule as written.
	Spec string
	// Location is the timezone the schedule is read in.
	Location *time.Location
	schedule cron.Schedule
}

// NewJob parses spec with config.ParseSchedule (robfig/cron's parser: five fields,
// descriptors such as @hourly, @every DURATION).
func NewJob(sync, mode, spec string, loc *time.Location) (Job, error) {
	if mode != ModeFull && mode != ModeDelta {
		return Job{}, fmt.Errorf("sync %q: unknown mode %q", sync, mode)
	}
	sched, err := config.ParseSchedule(spec)
	if err != nil {
		return Job{}, fmt.Errorf("sync %q %s schedule: %w", sync, mode, err)
	}
	if loc == nil {
		loc = time.UTC
	}
	return Job{Sync: sync, Mode: mode, Spec: spec, Location: loc, schedule: sched}, nil
}

// Jobs returns the jobs of every sync of cfg: one for its schedule and one for its
// delta_schedule, if it has one.
func Jobs(cfg *config.Config) ([]Job, error) {
	var jobs []Job
	for _, s := range cfg.Syncs {
		j, err := NewJob(s.Name, ModeFull, s.Schedule, s.Timezone)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
		if s.DeltaSchedule != "" {
			j, err := NewJob(s.Name, ModeDelta, s.DeltaSchedule, s.Timezone)
			if err != nil {
				return nil, err
			}
			jobs = append(jobs, j)
		}
	}
	return jobs, nil
}

// Next returns the job's first tick strictly after t, in the job's timezone. An "@every
// D" schedule ticks at the multiples of D since the zero time, so that every replica
// computes the same ticks whenever it started.
func (j Job) Next(t time.Time) time.Time {
	if every, ok := j.schedule.(cron.ConstantDelaySchedule); ok && every.Delay > 0 {
		return t.Truncate(every.Delay).Add(every.Delay).In(j.Location)
	}
	return j.schedule.Next(t.In(j.Location))
}

// ReadMode is the connector read mode of the job.
func (j Job) ReadMode() connector.ReadMode {
	if j.Mode == ModeDelta {
		return connector.Delta
	}
	return connector.Full
}
