package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/protocol"
)

// spoilingConnector is a directory in which some records cannot be read: the records of
// the IDs in spoil reach the engine as Invalid records (with their ID, or without one
// where spoil says so), through the raw path the plugin client uses.
type spoilingConnector struct {
	connector.Connector
	spoil map[string]bool // ID → keep the ID on the Invalid record
	// rewrite, if set, changes every record instead.
	rewrite func(connector.Record) connector.Record
}

func (s *spoilingConnector) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	return s.Connector.Read(ctx, req, func(r connector.Record) error { return emit(s.spoiled(r)) })
}

func (s *spoilingConnector) ReadRaw(ctx context.Context, req connector.ReadRequest, fn func(*protocol.RawBatch) error) (connector.ReadResult, error) {
	return s.Connector.(protocol.RawReader).ReadRaw(ctx, req, func(b *protocol.RawBatch) error {
		recs := make([]connector.Record, b.Len())
		for i := range recs {
			r, err := b.Record(i)
			if err != nil {
				return err
			}
			recs[i] = s.spoiled(r)
		}
		nb, err := protocol.NewRawBatch(recs)
		if err != nil {
			return err
		}
		return fn(nb)
	})
}

func (s *spoilingConnector) spoiled(r connector.Record) connector.Record {
	if s.rewrite != nil {
		return s.rewrite(r)
	}
	keepID, ok := s.spoil[r.ID]
	if !ok {
		return r
	}
	bad := connector.Record{DN: r.DN, Kind: connector.Invalid, Problem: "people.ldif:7: attribute title holds a NUL byte"}
	if keepID {
		bad.ID = r.ID
	} else {
		bad.Problem = "people.ldif:7: the entry has no entryUUID"
	}
	return bad
}

// runSpoiled runs the sync once with the records of spoil made Invalid.
func (e *env) runSpoiled(syncExtra string, spoil map[string]bool) engine.Result {
	e.t.Helper()
	prep := e.prepare(e.syncConfig("file", "default", "", syncExtra))
	prep.Sync.Connector = &spoilingConnector{Connector: prep.Sync.Connector, spoil: spoil}
	res, err := (&engine.Engine{Store: e.store, Holder: "test"}).Run(context.Background(), prep.Sync, engine.Options{})
	if err != nil {
		e.t.Fatalf("run: %v (result %+v)", err, res)
	}
	return res
}

// An Invalid record is a record error that protects its person: their profile is
// neither changed (although the directory changed it) nor deleted, an Invalid record of
// someone the store does not know creates nobody, and the rest of the read is applied,
// deletions included.
func TestInvalidRecordsProtectTheirProfiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 100)
	const deletion = "deletion {\n max_error_percent = 5\n }"
	e.mustRun(e.syncConfig("file", "default", "", deletion), engine.Options{})
	before := e.profiles(e.ids())

	changed, spoiled := e.people[0].UUID, e.people[1].UUID
	e.people[0].Title = "Changed"
	e.people[1].Title = "Changed too"
	gone := []string{e.people[98].UUID, e.people[99].UUID}
	e.people = e.people[:98]
	// A newcomer whose record cannot be read: nobody to create.
	newcomer := e.people[2]
	newcomer.UUID, newcomer.UID = "00000000-0000-4000-8000-0000000000ff", "newcomer"
	e.people = append(e.people, newcomer)
	e.writeDirectory()
	res := e.runSpoiled(deletion, map[string]bool{spoiled: true, newcomer.UUID: true})
	checkCounts(t, "run with Invalid records", res, counts{processed: 99, updated: 1, unchanged: 96, deleted: 2, errors: 2})
	if res.Status != store.StatusCompletedWithErrors {
		t.Errorf("status %s (%s), want %s", res.Status, res.Message, store.StatusCompletedWithErrors)
	}
	after := e.profiles([]string{changed, spoiled, newcomer.UUID, gone[0], gone[1]})
	if got := title(after[changed]); got != "Changed" {
		t.Errorf("the valid record's title is %q, want it updated", got)
	}
	if got, want := title(after[spoiled]), title(before[spoiled]); got != want || (after[spoiled].DeletedAt != nil) {
		t.Errorf("the Invalid record's profile: title %q (want %q unchanged), deleted %v", got, want, (after[spoiled].DeletedAt != nil))
	}
	if _, ok := after[newcomer.UUID]; ok {
		t.Errorf("the newcomer's Invalid record created a profile")
	}
	for _, id := range gone {
		if after[id].DeletedAt == nil {
			t.Errorf("%s left the directory but is not deleted", id)
		}
	}
	errs, err := e.store.RunErrors(context.Background(), res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 2 || errs[0].ExternalID != spoiled || !strings.Contains(errs[0].Message, "people.ldif:7:") {
		t.Errorf("record errors %+v, want one for %s and the newcomer, naming the file and line", errs, spoiled)
	}
}

// An Invalid record without an ID could be anyone's: the run applies what it read but
// deletes nobody, says why, and ends guarded.
func TestInvalidRecordWithoutIDDeletesNobody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 100)
	const deletion = "deletion {\n max_error_percent = 5\n }"
	e.mustRun(e.syncConfig("file", "default", "", deletion), engine.Options{})

	e.people[0].Title = "Changed"
	nameless := e.people[1].UUID
	e.people = e.people[:98]
	e.writeDirectory()
	res := e.runSpoiled(deletion, map[string]bool{nameless: false})
	checkCounts(t, "run with a nameless Invalid record", res, counts{processed: 98, updated: 1, unchanged: 96, errors: 1})
	if res.Status != store.StatusGuarded || res.WouldDelete != 3 {
		t.Errorf("status %s, would delete %d (%s); want guarded, holding back 3", res.Status, res.WouldDelete, res.Message)
	}
	if !strings.Contains(res.Message, "no external ID") || !strings.Contains(res.Message, "people.ldif:7") {
		t.Errorf("message %q does not say that a record without an ID holds deletions back, and which", res.Message)
	}
	if live := len(e.liveIDs()); live != 100 {
		t.Errorf("%d live profiles, want all 100", live)
	}
}

// title is a stored profile's title.
func title(p store.StoredProfile) string { return p.Profile.Get("title") }

// A mapped profile that is not fit to be written (an email that is not an address, a
// field of kilobytes) is a record error: the stored profile stays as it was.
func TestRejectedProfilesAreRecordErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 50)
	const extra = "required_fields = [\"employee_number\"]\n deletion {\n max_error_percent = 10\n }"
	cfg := e.syncConfig("file", "default", "", extra)
	e.mustRun(cfg, engine.Options{})
	before := e.profiles(e.ids())

	badMail, longName, noNumber := e.people[3].UUID, e.people[4].UUID, e.people[5].UUID
	e.people[5].EmployeeNumber = ""
	e.people[3].Mail = "ada(at)example.com"
	e.people[3].Title = "New title"
	e.people[4].GivenName = strings.Repeat("Zoë", 1000)
	e.writeDirectory()
	res := e.mustRun(cfg, engine.Options{})
	checkCounts(t, "run with three unfit profiles", res, counts{processed: 50, unchanged: 47, errors: 3})
	if res.Status != store.StatusCompletedWithErrors {
		t.Errorf("status %s, want %s", res.Status, store.StatusCompletedWithErrors)
	}
	after := e.profiles([]string{badMail, longName, noNumber})
	for _, id := range []string{badMail, longName, noNumber} {
		a, b := after[id], before[id]
		if title(a) != title(b) || a.Profile.Get("given_name") != b.Profile.Get("given_name") {
			t.Errorf("%s changed although its profile was rejected", id)
		}
	}
	errs, err := e.store.RunErrors(context.Background(), res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[string]string{}
	for _, x := range errs {
		msgs[x.ExternalID] = x.Message
	}
	if m := msgs[badMail]; !strings.Contains(m, `email "ada(at)example.com" is not an email address`) {
		t.Errorf("error for the bad email: %q", m)
	}
	if m := msgs[longName]; !strings.Contains(m, "given_name is 4000 bytes long") {
		t.Errorf("error for the long name: %q", m)
	}
	if m := msgs[noNumber]; !strings.Contains(m, "employee_number is empty, and the sync requires it") {
		t.Errorf("error for the missing required field: %q", m)
	}
}

// An external ID the store could not hold exactly (bytes that are not UTF-8, a NUL)
// might become another person's ID: the record is a record error without an ID, and the
// run deletes nobody. A DN that is not storable is a record error of its own.
func TestUnstorableIDsAndDNs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 20)
	cfg := e.syncConfig("file", "default", "", "deletion {\n max_error_percent = 20\n }")
	e.mustRun(cfg, engine.Options{})
	badID, badDN := e.people[1].UUID, e.people[2].UUID
	e.people[2].Title = "Moved"
	e.people = e.people[:19]
	e.writeDirectory()
	prep := e.prepare(cfg)
	prep.Sync.Connector = &spoilingConnector{Connector: prep.Sync.Connector, rewrite: func(r connector.Record) connector.Record {
		switch r.ID {
		case badID:
			r.ID += "\x00"
		case badDN:
			r.DN = "uid=x\xff,ou=people"
		}
		return r
	}}
	res, err := (&engine.Engine{Store: e.store, Holder: "test"}).Run(context.Background(), prep.Sync, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, "run with an unstorable ID and DN", res, counts{processed: 19, unchanged: 17, errors: 2})
	if res.Status != store.StatusGuarded || !strings.Contains(res.Message, "not UTF-8 text without NUL bytes") {
		t.Errorf("status %s (%s), want guarded by the unidentified record", res.Status, res.Message)
	}
	if live := len(e.liveIDs()); live != 20 {
		t.Errorf("%d live profiles, want all 20", live)
	}
	if got := title(e.profiles([]string{badDN})[badDN]); got == "Moved" {
		t.Errorf("the record with the unstorable DN was applied")
	}
}

// A delta run of a sync whose connector cannot read deltas fails before it begins: no
// run is recorded, no lock taken.
func TestDeltaRunWithoutTheCapability(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 5)
	prep := e.prepare(e.syncConfig("file", "default", "", ""))
	if prep.Sync.ReadsDeltas {
		t.Fatal("the file connector claims delta reads")
	}
	_, err := (&engine.Engine{Store: e.store, Holder: "test"}).Run(context.Background(), prep.Sync, engine.Options{Mode: connector.Delta})
	if !errors.Is(err, engine.ErrNoDeltas) {
		t.Fatalf("delta run = %v, want ErrNoDeltas", err)
	}
	if runs, err := e.store.Runs(context.Background(), "people", 5); err != nil || len(runs) != 0 {
		t.Errorf("runs after the refused delta run: %d (%v), want none", len(runs), err)
	}
}
