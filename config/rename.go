package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// checkPreviousNames checks the previous_names of every sync, once every sync is known:
// each is a valid sync name, none is the name of a declared sync (whose links a run of
// another sync would take), and no name is claimed twice (two syncs cannot both adopt
// what one sync left).
func (d *decoder) checkPreviousNames(declared map[string]hcl.Range) {
	claimed := map[string]hcl.Range{}
	for _, s := range d.cfg.Syncs {
		for i, name := range s.PreviousNames {
			rng := s.previousRanges[i]
			switch {
			case !hclsyntax.ValidIdentifier(name):
				d.errorf(rng, "Invalid previous name",
					"%s is not a valid sync name: a name starts with a letter or underscore and holds only letters, digits, underscores and dashes.", quote(name))
				continue
			case name == s.Name:
				d.errorf(rng, "Previous name is the sync's own",
					"Sync %s lists its own name in previous_names; list only names it had before it was renamed.", quote(s.Name))
				continue
			}
			if decl, ok := declared[name]; ok {
				d.errorf(rng, "Previous name of a declared sync",
					"Sync %s lists %s in previous_names, but %s is a sync of this configuration (%s): a run of %s would take over its profiles. Remove the sync block %s if it was renamed, or the name from previous_names.",
					quote(s.Name), quote(name), quote(name), at(decl), quote(s.Name), quote(name))
				continue
			}
			if first, dup := claimed[name]; dup {
				d.errorf(rng, "Previous name claimed twice",
					"%s is already listed as a previous name at %s; what the store keeps under it can go to one sync only.", quote(name), at(first))
				continue
			}
			claimed[name] = rng
		}
	}
}

// PreviousNameOf returns the sync that lists name among its previous_names, or nil.
func (c *Config) PreviousNameOf(name string) *Sync {
	for _, s := range c.Syncs {
		for _, p := range s.PreviousNames {
			if p == name {
				return s
			}
		}
	}
	return nil
}
