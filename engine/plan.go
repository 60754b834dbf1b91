package engine

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// plan counts the changes of a dry run and describes the first PlanDetails of them.
func (p *pass) plan(ctx context.Context, changes []store.Change) error {
	matches, err := p.planMatches(ctx, changes)
	if err != nil {
		return err
	}
	var updates []string
	for i, c := range changes {
		action := ActionCreate
		var m store.MatchResult
		if c.ProfileID != "" {
			action = ActionUpdate
			p.updated++
		} else if m = matches[i]; m.Situation == store.Joined {
			action = ActionJoin
			p.joined++
		} else if m.Situation == store.Disputed {
			action = ActionDisputed
			p.disputed++
		} else if p.sync.Roles != nil && !p.sync.Roles.Creates {
			action = ActionUnmatched
			p.unmatched++
		} else {
			p.created++
		}
		if len(p.changes)+len(updates) >= p.opts.PlanDetails {
			continue
		}
		switch action {
		case ActionUpdate:
			updates = append(updates, c.ExternalID)
		case ActionCreate:
			p.changes = append(p.changes, Change{
				Action: ActionCreate, ExternalID: c.ExternalID, Name: displayName(&c.Profile),
				Fields: DiffProfiles(nil, &c.Profile),
			})
		default:
			p.changes = append(p.changes, Change{
				Action: action, ExternalID: c.ExternalID, Name: displayName(&c.Profile),
				ProfileID: m.ProfileID, Candidates: m.Candidates,
			})
		}
	}
	if len(updates) == 0 {
		return nil
	}
	stored, err := p.engine.Store.Profiles(ctx, p.storeName, updates)
	if err != nil {
		return fmt.Errorf("load stored profiles for the plan: %w", err)
	}
	for _, c := range changes {
		sp, ok := stored[c.ExternalID]
		if !ok || c.ProfileID == "" {
			continue
		}
		action := ActionUpdate
		if sp.DeletedAt != nil {
			action = ActionRestore
		}
		p.changes = append(p.changes, Change{
			Action: action, ExternalID: c.ExternalID, Name: displayName(&c.Profile),
			Fields: DiffProfiles(&sp.Profile, &c.Profile),
		})
	}
	return nil
}

// planMatches says how the unlinked records among changes would find their people, for
// a sync that joins (nil otherwise, or when there are none).
func (p *pass) planMatches(ctx context.Context, changes []store.Change) ([]store.MatchResult, error) {
	if !p.sync.joins() {
		return make([]store.MatchResult, len(changes)), nil
	}
	var idx []int
	var records []profile.Profile
	for i, c := range changes {
		if c.ProfileID == "" {
			idx = append(idx, i)
			records = append(records, c.Profile)
		}
	}
	out := make([]store.MatchResult, len(changes))
	if len(records) == 0 {
		return out, nil
	}
	ms, err := p.engine.Store.Match(ctx, p.storeName, records)
	if err != nil {
		return nil, fmt.Errorf("plan the join: %w", err)
	}
	for j, i := range idx {
		out[i] = ms[j]
	}
	return out, nil
}

// planDeletes describes the first deletions of a dry run.
func (p *pass) planDeletes(ctx context.Context, gone []string) {
	room := p.opts.PlanDetails - len(p.changes)
	if room <= 0 {
		return
	}
	gone = gone[:min(room, len(gone))]
	stored, err := p.engine.Store.Profiles(ctx, p.storeName, gone)
	if err != nil {
		p.log.Warn("loading profiles to describe deletions failed", "err", err)
	}
	for _, id := range gone {
		name := ""
		if sp, ok := stored[id]; ok {
			name = displayName(&sp.Profile)
		}
		p.changes = append(p.changes, Change{Action: ActionDelete, ExternalID: id, Name: name})
	}
}

// displayName names a profile for people reading a plan.
func displayName(pr *profile.Profile) string {
	for _, f := range []string{profile.DisplayName, profile.UserName, profile.Email} {
		if v := pr.Get(f); v != "" {
			return v
		}
	}
	return pr.Get(profile.GivenName) + " " + pr.Get(profile.FamilyName)
}

// DiffProfiles lists the fields whose values differ from old to new; a nil old is an
// empty profile. Photos compare by content.
func DiffProfiles(old, new *profile.Profile) []FieldDiff {
	created := old == nil
	if created {
		// A new profile is active unless the source says otherwise: "active false →
		// true" on every create told nothing.
		old = &profile.Profile{Active: true}
	}
	var d []FieldDiff
	for i, name := range profile.CoreFields {
		if old.Core[i] != new.Core[i] {
			d = append(d, FieldDiff{Field: name, Old: old.Core[i], New: new.Core[i]})
		}
	}
	if old.Manager != new.Manager {
		d = append(d, FieldDiff{Field: "manager", Old: old.Manager, New: new.Manager})
	}
	switch {
	case created && !new.Active:
		d = append(d, FieldDiff{Field: "active", Old: "", New: "false"})
	case old.Active != new.Active:
		d = append(d, FieldDiff{Field: "active", Old: fmt.Sprint(old.Active), New: fmt.Sprint(new.Active)})
	}
	keys := make(map[string]struct{}, len(old.Attributes)+len(new.Attributes))
	for k := range old.Attributes {
		keys[k] = struct{}{}
	}
	for k := range new.Attributes {
		keys[k] = struct{}{}
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		if o, n := old.Attributes[k], new.Attributes[k]; o != n {
			d = append(d, FieldDiff{Field: "attributes." + k, Old: o, New: n})
		}
	}
	if op, np := photoSummary(old.Photo), photoSummary(new.Photo); op != np {
		d = append(d, FieldDiff{Field: "photo", Old: op, New: np})
	}
	return d
}

func photoSummary(ph *profile.Photo) string {
	if ph == nil {
		return ""
	}
	sum := sha256.Sum256(ph.Data)
	return fmt.Sprintf("%s, %d bytes, sha256 %x", ph.ContentType, len(ph.Data), sum[:6])
}
