package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// People is a sync's people block: how its records find the person they belong to when
// several syncs feed one profile, and whether the sync may create and end people.
//
//	people {
//	  create = false                         # only join people another sync created
//	  end    = false                         # dropping a person only withdraws its fields
//	  join   = ["employee_number", "email"]  # match keys, tried in order
//	}
type People struct {
	// Create (create, default true): a record that matches no profile creates one.
	// Without it the record is kept as unmatched until its person appears.
	Create bool
	// End (end, default true): the sync's dropping a person ends the profile, unless
	// another sync that may end it still has the person.
	End bool
	// Join (join) are the match keys an unlinked record tries, in order: core field
	// names or "attributes.NAME" of the mapped profile, each at most once. Empty: the
	// sync joins nobody.
	Join []string
	// DeclRange is the range of the block's header (people).
	DeclRange hcl.Range

	given ranges
	// joinRanges are where each of Join was written.
	joinRanges []hcl.Range
	// badJoin: the join attribute had errors of its own, reported already.
	badJoin bool
}

// RangeOf returns where the people block's named attribute ("create", "end", "join")
// was written, or the block's header.
func (p *People) RangeOf(name string) hcl.Range { return p.given.of(name, p.DeclRange) }

// JoinRange returns where the i-th of Join was written: the element itself where the
// list is written out, else the join attribute's value.
func (p *People) JoinRange(i int) hcl.Range {
	if i >= 0 && i < len(p.joinRanges) {
		return p.joinRanges[i]
	}
	return p.RangeOf("join")
}

// Roles returns the sync's roles toward people: those of its people block, or
// store.DefaultRoles without one.
func (s *Sync) Roles() store.Roles {
	if s.People == nil {
		return store.DefaultRoles
	}
	return store.Roles{Creates: s.People.Create, Ends: s.People.End, Join: slices.Clone(s.People.Join)}
}

// Precedence is the precedence block: which sync's value a profile takes, field by
// field, when several syncs feed it, highest first. An empty value falls through to the
// next sync.
//
//	precedence {
//	  default = ["hr", "ad"]
//	  fields = {
//	    email = ["ad", "hr"]
//	    "attributes.cost_center" = ["hr"]
//	  }
//	}
type Precedence struct {
	// Default (default) is the precedence of every field without an entry in Fields.
	// Empty: the order of the sync blocks in the file.
	Default []string
	// Fields (fields) is the precedence of single fields by field name: a core field
	// name, "attributes.NAME", "attributes" (every attribute without an entry of its
	// own), "photo", "manager" or "active". Syncs a list leaves out follow in the order
	// of Default.
	Fields map[string][]string
	// DeclRange is the range of the block's header (precedence).
	DeclRange hcl.Range

	given                   ranges
	defaultAttr, fieldsAttr *hcl.Attribute
	// defaultRanges are where each of Default was written; fieldKeys where each key of
	// Fields was, and fieldRanges each sync of its list.
	defaultRanges []hcl.Range
	fieldKeys     map[string]hcl.Range
	fieldRanges   map[string][]hcl.Range
}

// RangeOf returns where the precedence block's named attribute ("default", "fields")
// was written, or the block's header.
func (p *Precedence) RangeOf(name string) hcl.Range { return p.given.of(name, p.DeclRange) }

// FieldRange returns where the entry of field in Fields was written: its key, or the
// fields attribute when that is not known.
func (p *Precedence) FieldRange(field string) hcl.Range {
	if rng, ok := p.fieldKeys[field]; ok {
		return rng
	}
	return p.RangeOf("fields")
}

// Sources returns how the store combines the syncs' contributions to one profile: every
// sync's roles (Sync.Roles), the default order (the precedence block's default, else
// the order of the sync blocks) and the precedence of single fields.
func (c *Config) Sources() store.Sources {
	src := store.Sources{Roles: make(map[string]store.Roles, len(c.Syncs))}
	for _, s := range c.Syncs {
		src.Roles[s.Name] = s.Roles()
	}
	p := c.Precedence
	if p != nil {
		src.Order = slices.Clone(p.Default)
	}
	// Syncs the default list leaves out follow in the order of their blocks, as all do
	// when there is no list.
	for _, s := range c.Syncs {
		if !slices.Contains(src.Order, s.Name) {
			src.Order = append(src.Order, s.Name)
		}
	}
	if p != nil && len(p.Fields) > 0 {
		src.Fields = make(map[string][]string, len(p.Fields))
		for f, list := range p.Fields {
			src.Fields[f] = slices.Clone(list)
		}
	}
	return src
}

// precedenceOnly are the fields a precedence list may name beyond the core fields and
// "attributes.NAME".
var precedenceOnly = []string{store.FieldAttributes, store.FieldPhoto, store.FieldManager, store.FieldActive}

// isAttributeField tells whether name is "attributes.NAME" with a NAME.
func isAttributeField(name string) bool {
	rest, ok := strings.CutPrefix(name, store.FieldAttributes+".")
	return ok && rest != ""
}

// fieldSuggestion ends the diagnostic of an unknown field name: the nearest of
// candidates (or of "attributes." and what follows a dot, for a misspelt prefix), or
// what the names may be.
func fieldSuggestion(name string, candidates []string, what string) string {
	if _, rest, ok := strings.Cut(name, "."); ok && rest != "" {
		candidates = append(slices.Clip(candidates), store.FieldAttributes+"."+rest)
	}
	if best := Nearest(name, candidates, 3); best != "" && best != name {
		return fmt.Sprintf("Did you mean %q?", best)
	}
	return what
}

// boolean decodes a true or false.
func (d *decoder) boolean(attr *hcl.Attribute) (bool, bool) {
	v, ok := d.eval(attr, cty.Bool)
	if !ok {
		return false, false
	}
	return v.True(), true
}

func (d *decoder) decodePeople(b *hcl.Block) *People {
	p := &People{Create: true, End: true, DeclRange: b.DefRange}
	d.block(b, &p.given, []field{
		{"create", false, into(&p.Create, d.boolean)},
		{"end", false, into(&p.End, d.boolean)},
		{"join", false, func(attr *hcl.Attribute) { d.joinKeys(p, attr) }},
	})
	return p
}

// joinKeys decodes a people block's join: core field names or "attributes.NAME", each
// once. Only the keys it accepts are kept.
func (d *decoder) joinKeys(p *People, attr *hcl.Attribute) {
	before := len(d.diags)
	defer func() { p.badJoin = len(d.diags) > before }()
	names, rngs, ok := d.stringList(attr)
	if !ok {
		return
	}
	seen := map[string]hcl.Range{}
	for i, name := range names {
		switch first, dup := seen[name]; {
		case profile.FieldIndex(name) < 0 && !isAttributeField(name):
			d.errorf(rngs[i], "Unknown join key",
				"join names %s, which is neither a core profile field nor \"attributes.NAME\". %s", d.show(attr, name),
				fieldSuggestion(name, profile.CoreFields[:], fmt.Sprintf("The core fields are %s.", strings.Join(profile.CoreFields[:], ", "))))
		case dup:
			d.errorf(rngs[i], "Duplicate join key",
				"join names %s twice; the first is at %s. Each key is tried once, in order.", d.show(attr, name), at(first))
		default:
			seen[name] = rngs[i]
			p.Join = append(p.Join, name)
			p.joinRanges = append(p.joinRanges, rngs[i])
		}
	}
}

func (d *decoder) decodePrecedence(b *hcl.Block) {
	p := &Precedence{DeclRange: b.DefRange}
	d.cfg.Precedence = p
	d.block(b, &p.given, []field{
		{"default", false, func(attr *hcl.Attribute) {
			p.defaultAttr = attr
			p.Default, p.defaultRanges, _ = d.stringList(attr)
		}},
		{"fields", false, func(attr *hcl.Attribute) {
			p.fieldsAttr = attr
			d.precedenceFields(p, attr)
		}},
	})
}

// precedenceFields decodes a precedence block's fields: an object from field names to
// lists of sync names. Only the fields it accepts are kept; their sync names are checked
// once every sync is known (checkSources).
func (d *decoder) precedenceFields(p *Precedence, attr *hcl.Attribute) {
	v, ok := d.eval(attr, cty.Map(cty.List(cty.String)))
	if !ok {
		return
	}
	// Where each key and list was written, when the object is written out. An object
	// that names a key twice keeps the last: say so.
	keys, firsts := map[string]hcl.Range{}, map[string]hcl.Range{}
	lists := map[string]hcl.Expression{}
	if pairs, diags := hcl.ExprMap(attr.Expr); !diags.HasErrors() {
		for _, kv := range pairs {
			k, kd := kv.Key.Value(d.ctx)
			if kd.HasErrors() {
				continue
			}
			k, _ = k.UnmarkDeep()
			if k, err := convert.Convert(k, cty.String); err == nil && !k.IsNull() && k.IsKnown() {
				name := k.AsString()
				if first, dup := firsts[name]; dup {
					d.errorf(kv.Key.Range(), "Duplicate precedence field",
						"fields names %s twice; the first is at %s.", d.show(attr, name), at(first))
				} else {
					firsts[name] = kv.Key.Range()
				}
				keys[name], lists[name] = kv.Key.Range(), kv.Value
			}
		}
	}
	p.Fields = map[string][]string{}
	p.fieldKeys = map[string]hcl.Range{}
	p.fieldRanges = map[string][]hcl.Range{}
	for it := v.ElementIterator(); it.Next(); {
		k, list := it.Element()
		name := k.AsString()
		key, ok := keys[name]
		if !ok {
			key = attr.Expr.Range()
		}
		if profile.FieldIndex(name) < 0 && !isAttributeField(name) && !slices.Contains(precedenceOnly, name) {
			candidates := append(slices.Clip(profile.CoreFields[:]), precedenceOnly...)
			d.errorf(key, "Unknown precedence field",
				"fields names %s, which is not a field a precedence may order. %s", d.show(attr, name),
				fieldSuggestion(name, candidates, fmt.Sprintf("A field is a core profile field (%s), \"attributes.NAME\", \"attributes\", \"photo\", \"manager\" or \"active\".", strings.Join(profile.CoreFields[:], ", "))))
			continue
		}
		expr := lists[name]
		if expr == nil {
			expr = attr.Expr
		}
		if list.IsNull() {
			d.errorf(expr.Range(), "Invalid attribute value", "The precedence of %s must not be null.", quote(name))
			continue
		}
		p.Fields[name], p.fieldRanges[name] = d.elements(fmt.Sprintf("The precedence of %s", quote(name)), expr, list)
		p.fieldKeys[name] = key
	}
}

// checkSources checks what makes several syncs feed one profile, once every sync is
// known: the precedence names declared syncs, each once per list; a sync that may not
// create people joins them; and syncs that may both end people that they share say
// which of them wins.
func (d *decoder) checkSources(declared map[string]hcl.Range) {
	if p := d.cfg.Precedence; p != nil {
		d.checkSyncList(p.defaultAttr, "default", p.Default, p.defaultRanges, declared)
		for _, f := range slices.Sorted(maps.Keys(p.Fields)) {
			d.checkSyncList(p.fieldsAttr, fmt.Sprintf("The precedence of %s", quote(f)), p.Fields[f], p.fieldRanges[f], declared)
		}
	}
	var joins *Sync // the first sync that joins: then syncs share people
	var ends []*Sync
	for _, s := range d.cfg.Syncs {
		p := s.People
		if p != nil && !p.Create && len(p.Join) == 0 && !p.badJoin {
			d.errorf(p.RangeOf("create"), "Sync can never contribute",
				"Sync %s may not create people (create = false) and joins none (it has no join keys): no record of it could ever belong to a profile. Give it the keys it shares with the sync that creates people, like join = [\"employee_number\", \"email\"], or remove create = false.",
				quote(s.Name))
		}
		if p != nil && len(p.Join) > 0 && joins == nil {
			joins = s
		}
		if s.Roles().Ends {
			ends = append(ends, s)
		}
	}
	if joins == nil || len(ends) < 2 {
		return
	}
	names := make([]string, len(ends))
	for i, s := range ends {
		names[i] = s.Name
	}
	p := d.cfg.Precedence
	if p != nil && (containsAll(p.Default, names) || containsAll(p.Fields[store.FieldActive], names)) {
		return
	}
	second := ends[1]
	rng := second.DeclRange
	if second.People != nil {
		rng = second.People.RangeOf("end")
	}
	missing := ""
	if p != nil && len(p.Default) > 0 {
		var left []string
		for _, n := range names {
			if !slices.Contains(p.Default, n) {
				left = append(left, n)
			}
		}
		missing = fmt.Sprintf(" The precedence default at %s leaves out %s.", at(p.RangeOf("default")), quoteList(left))
	}
	d.errorf(rng, "Several syncs may end people",
		"Syncs %s may each end people (end = true is the default), and they share people: sync %s joins the people of others. Nothing says which of them decides whether a person is active.%s List them all, highest first, in precedence { default = [...] } or in precedence { fields = { active = [...] } }, or set end = false in the people block of all but one.",
		quoteList(names), quote(joins.Name), missing)
}

// checkSyncList checks a precedence list, written as attr (nil if unknown) and called
// what in diagnostics: each of names is a declared sync, named once.
func (d *decoder) checkSyncList(attr *hcl.Attribute, what string, names []string, rngs []hcl.Range, declared map[string]hcl.Range) {
	seen := map[string]hcl.Range{}
	show := func(name string) string {
		if attr != nil {
			return d.show(attr, name)
		}
		return quote(name)
	}
	for i, name := range names {
		rng := rngs[i]
		if _, ok := declared[name]; !ok {
			hint := declaredList("sync", declared)
			if renamed := d.cfg.PreviousNameOf(name); renamed != nil {
				hint = fmt.Sprintf("Sync %s was renamed from it (previous_names); name it by its new name.", quote(renamed.Name))
			} else if best := Nearest(name, slices.Sorted(maps.Keys(declared)), 3); best != "" {
				hint = fmt.Sprintf("Did you mean %q?", best)
			}
			d.errorf(rng, "Reference to undeclared sync", "%s names %s, but no sync of that name is declared. %s", what, show(name), hint)
			continue
		}
		if first, dup := seen[name]; dup {
			d.errorf(rng, "Duplicate sync in precedence", "%s names %s twice; the first is at %s.", what, show(name), at(first))
			continue
		}
		seen[name] = rng
	}
}

// containsAll tells whether list holds every one of names.
func containsAll(list, names []string) bool {
	for _, n := range names {
		if !slices.Contains(list, n) {
			return false
		}
	}
	return true
}

// quoteList renders names for a sentence: "a", "b" and "c".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
