package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-runewidth"

	"github.com/peoplesync/peoplesync/engine/store"
)

// Columns line up on a terminal when cells hold wide (CJK) characters: every row's
// second column starts at the same display column.
func TestTableAlignsWideCharacters(t *testing.T) {
	var tb table
	tb.add("NAME", "TITLE")
	tb.add("李雷", "Engineer")
	tb.add("Zoë Ødegård", "Manager")
	tb.add("山田太郎さん", "Clerk")
	var buf bytes.Buffer
	if err := tb.write(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := -1
	for _, line := range lines {
		fields := strings.SplitN(line, "  ", 2)
		at := runewidth.StringWidth(line) - runewidth.StringWidth(strings.TrimLeft(fields[1], " "))
		if want < 0 {
			want = at
		}
		if at != want {
			t.Errorf("second column of %q starts at display column %d, want %d:\n%s", line, at, want, buf.String())
		}
	}
}

func TestProfileState(t *testing.T) {
	gone := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var active, inactive, deleted store.StoredProfile
	active.Profile.Active = true
	deleted.DeletedAt = &gone
	for p, want := range map[*store.StoredProfile]string{&active: "active", &inactive: "inactive", &deleted: "deleted 2026-12-03"} {
		if got := profileState(*p); got != want {
			t.Errorf("state %q, want %q", got, want)
		}
	}
}
