package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// This file is the JSON that `runs` and `profiles` print with --output json: one object
// each, keys in snake_case like sync's, times in RFC 3339 UTC.

// checkOutput refuses an --output other than text or json.
func checkOutput(output string) error {
	if output != "text" && output != "json" {
		return &exitError{code: exitUsage, err: fmt.Errorf("--output %q: want text or json", output)}
	}
	return nil
}

// writeJSONValue writes v as one indented JSON value.
func writeJSONValue(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type runsJSON struct {
	Locks []lockJSON `json:"locks"` // see serve.go
	Runs  []runJSON  `json:"runs"`
}

type runJSON struct {
	RunID      int64      `json:"run_id"`
	Sync       string     `json:"sync"`
	Mode       string     `json:"mode"`
	Status     string     `json:"status"`
	Holder     string     `json:"holder"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Tick       *time.Time `json:"tick,omitempty"`
	Processed  int64      `json:"processed"`
	Created    int64      `json:"created"`
	Updated    int64      `json:"updated"`
	Unchanged  int64      `json:"unchanged"`
	Skipped    int64      `json:"skipped"`
	Deleted    int64      `json:"deleted"`
	Errors     int64      `json:"errors"`
	Joined     int64      `json:"joined"`
	Unmatched  int64      `json:"unmatched"`
	Disputed   int64      `json:"disputed"`
	Message    string     `json:"message,omitempty"`
}

type runErrorsJSON struct {
	RunID  int64             `json:"run_id"`
	Errors []recordErrorJSON `json:"errors"`
}

type recordErrorJSON struct {
	ExternalID string `json:"external_id"`
	Message    string `json:"message"`
}

type profilesJSON struct {
	Sync     string        `json:"sync"`
	Profiles []profileJSON `json:"profiles"`
}

type profileJSON struct {
	ProfileID  string `json:"profile_id"`
	ExternalID string `json:"external_id"`
	// State is active, inactive (the source marks the person disabled) or deleted (the
	// source no longer has the person).
	State        string            `json:"state"`
	DeletedAt    *time.Time        `json:"deleted_at,omitempty"`
	UpdatedAt    time.Time         `json:"updated_at"`
	Fields       map[string]string `json:"fields"`
	Attributes   map[string]string `json:"attributes,omitempty"`
	Manager      *managerJSON      `json:"manager,omitempty"`
	CustomFields map[string]any    `json:"custom_fields,omitempty"`
}

type managerJSON struct {
	ProfileID   string `json:"profile_id"`
	DisplayName string `json:"display_name,omitempty"`
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func toRunsJSON(locks []store.LockInfo, runs []store.RunInfo) runsJSON {
	out := runsJSON{Locks: []lockJSON{}, Runs: []runJSON{}}
	for _, l := range locks {
		l.AcquiredAt, l.ExpiresAt = l.AcquiredAt.UTC(), l.ExpiresAt.UTC()
		out.Locks = append(out.Locks, lockJSON(l)) // as /status shows them
	}
	for _, r := range runs {
		out.Runs = append(out.Runs, runJSON{RunID: r.ID, Sync: r.Sync, Mode: r.Mode, Status: r.Status,
			Holder: r.Holder, StartedAt: r.StartedAt.UTC(), FinishedAt: utc(r.FinishedAt), Tick: utc(r.Tick),
			Processed: r.Processed, Created: r.Created, Updated: r.Updated, Unchanged: r.Unchanged,
			Joined: r.Joined, Unmatched: r.Unmatched, Disputed: r.Disputed,
			Skipped: r.Skipped, Deleted: r.Deleted, Errors: r.Errors, Message: r.Message})
	}
	return out
}

func toRunErrorsJSON(runID int64, errs []store.RecordError) runErrorsJSON {
	out := runErrorsJSON{RunID: runID, Errors: []recordErrorJSON{}}
	for _, e := range errs {
		out.Errors = append(out.Errors, recordErrorJSON{ExternalID: e.ExternalID, Message: e.Message})
	}
	return out
}

func toProfilesJSON(syncName string, ps []store.StoredProfile) profilesJSON {
	out := profilesJSON{Sync: syncName, Profiles: []profileJSON{}}
	for _, p := range ps {
		pj := profileJSON{ProfileID: p.ProfileID, ExternalID: p.ExternalID, State: profileState(p),
			DeletedAt: utc(p.DeletedAt), UpdatedAt: p.UpdatedAt.UTC(), Fields: map[string]string{},
			Attributes: p.Profile.Attributes, CustomFields: p.CustomFields}
		if p.DeletedAt != nil {
			pj.State = "deleted"
		}
		for i, name := range profile.CoreFields {
			if v := p.Profile.Core[i]; v != "" {
				pj.Fields[name] = v
			}
		}
		if p.ManagerID != "" {
			pj.Manager = &managerJSON{ProfileID: p.ManagerID, DisplayName: p.ManagerName}
		}
		out.Profiles = append(out.Profiles, pj)
	}
	return out
}
