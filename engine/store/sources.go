package store

import (
	"slices"
	"strings"
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

// NormalizeKey is the form in which a join key's value is compared: trimmed, and
// case-folded for the fields that are case-insensitive (user name and email). An empty
// result matches nothing.
func NormalizeKey(field, value string) string {
	value = strings.TrimSpace(value)
	if KeyFoldsCase(field) {
		value = strings.ToLower(value)
	}
	return value
}

// KeyFoldsCase reports whether a join key field compares case-insensitively.
func KeyFoldsCase(field string) bool {
	return field == "email" || field == "user_name"
}
