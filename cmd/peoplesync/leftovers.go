package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/peoplesync/peoplesync/config"
	"github.com/peoplesync/peoplesync/engine/store"
)

// leftovers returns, of the syncs the store has links of (linked), those the
// configuration neither declares nor lists in any previous_names: what a removed or
// renamed sync left, which nothing updates or removes any more.
func leftovers(cfg *config.Config, linked []string) []string {
	var out []string
	for _, name := range linked {
		if cfg.Sync(name) == nil && cfg.PreviousNameOf(name) == nil {
			out = append(out, name)
		}
	}
	return out
}

// warnAboutLeftovers warns, before the first run of sync (one without links of its
// own yet), that the store holds other syncs' profiles the configuration no longer has:
// if sync is one of them renamed, its run is about to create every person again. With
// sync "" (serve) it warns about every leftover.
func (a *app) warnAboutLeftovers(ctx context.Context, cfg *config.Config, st store.Store, sync string) {
	linked, err := st.LinkedSyncs(ctx)
	if err != nil {
		a.logger.Debug("could not list the store's syncs", "err", err)
		return
	}
	if sync != "" && slices.Contains(linked, sync) {
		return // not its first run: a rename would have shown before
	}
	left := leftovers(cfg, linked)
	for _, name := range left {
		hint := "If a sync of the configuration is that sync renamed, add previous_names = [\"" + name +
			"\"] to it: its next run adopts those profiles instead of creating everyone again."
		if sync != "" {
			hint = fmt.Sprintf("If sync %q is %q renamed, add previous_names = [%q] to it before it runs: "+
				"its run adopts those profiles instead of creating everyone again.", sync, name, name)
		}
		a.logger.Warn(fmt.Sprintf("the store has profiles of sync %q, which %s no longer declares: nothing updates or removes them. %s",
			name, a.configPath, hint), "leftover_sync", name)
	}
}
