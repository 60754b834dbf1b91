package store

import (
	"slices"
	"strings"

	"github.com/peoplesync/peoplesync/sdk/profile"
)

// Rank orders syncs by their precedence for field, highest first: the field's own list
// ("attributes.NAME" falls back to "attributes"), then Order, then the rest by name. It
// sorts syncs in place and returns it.
func (s Sources) Rank(field string, syncs []string) []string {
	list, ok := s.Fields[field]
	if !ok && strings.HasPrefix(field, FieldAttributes+".") {
		list = s.Fields[FieldAttributes]
	}
	pos := func(name string) (int, int) {
		if i := slices.Index(list, name); i >= 0 {
			return 0, i
		}
		if i := slices.Index(s.Order, name); i >= 0 {
			return 1, i
		}
		return 2, 0
	}
	slices.SortStableFunc(syncs, func(a, b string) int {
		ta, ia := pos(a)
		tb, ib := pos(b)
		switch {
		case ta != tb:
			return ta - tb
		case ia != ib:
			return ia - ib
		}
		return strings.Compare(a, b)
	})
	return syncs
}

// NonEnders lists the syncs whose dropping a person does not end the profile.
func (s Sources) NonEnders() []string {
	out := []string{}
	for name, r := range s.Roles {
		if !r.Ends {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Joiners lists the syncs that join their records to existing people, by name.
func (s Sources) Joiners() []string {
	var out []string
	for name, r := range s.Roles {
		if len(r.Join) > 0 {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// FieldValue is the value of a field of p by its precedence or join-key name: a core
// field, or "attributes.NAME"; "" for any other name.
func FieldValue(p *profile.Profile, field string) string {
	if name, ok := strings.CutPrefix(field, FieldAttributes+"."); ok {
		return p.Attributes[name]
	}
	return p.Get(field)
}

// KeyFoldsCase reports whether a join key field compares case-insensitively: join keys
// are compared trimmed, and these case-folded, on both sides in the store's SQL.
func KeyFoldsCase(field string) bool {
	return field == "email" || field == "user_name"
}
