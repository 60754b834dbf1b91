package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

func (a *app) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Bring the store's schema up to date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.configuredStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			st.Close()
			fmt.Fprintln(a.stdout, "store schema is up to date")
			return nil
		},
	}
}

func (a *app) runsCommand() *cobra.Command {
	var syncName string
	var limit int
	var errorsOf int64
	var output string
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List recent runs, newest first (or one run's record errors with --errors RUN)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			st, err := a.configuredStore(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer st.Close()
			var t table
			if errorsOf > 0 {
				errs, err := st.RunErrors(cmd.Context(), errorsOf)
				if errors.Is(err, store.ErrNotFound) {
					return &exitError{code: exitUsage, err: fmt.Errorf("--errors %d: the store has no run %d", errorsOf, errorsOf)}
				}
				if err != nil {
					return &exitError{code: exitFailed, err: err}
				}
				if output == "json" {
					return writeJSONValue(a.stdout, toRunErrorsJSON(errorsOf, errs))
				}
				t.add("EXTERNAL ID", "ERROR")
				for _, e := range errs {
					t.add(e.ExternalID, e.Message)
				}
				return t.write(a.stdout)
			}
			runs, err := st.Runs(cmd.Context(), syncName, limit)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if syncName != "" && len(runs) == 0 {
				if err := a.knownSync(syncName); err != nil {
					return err
				}
			}
			if output == "json" {
				locks, err := st.Locks(cmd.Context())
				if err != nil {
					return &exitError{code: exitFailed, err: err}
				}
				return writeJSONValue(a.stdout, toRunsJSON(locks, runs))
			}
			if err := printLocks(cmd.Context(), a.stdout, st); err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			// The join counts only when a listed run has one: a store whose syncs join
			// nobody keeps the table it had.
			joins := slices.ContainsFunc(runs, func(r store.RunInfo) bool { return r.Joined+r.Unmatched+r.Disputed > 0 })
			header := []string{"RUN", "SYNC", "MODE", "STATUS", "STARTED", "DURATION", "PROCESSED", "CREATED", "UPDATED", "UNCHANGED", "SKIPPED", "DELETED", "ERRORS"}
			if joins {
				header = append(header, "JOINED", "UNMATCHED", "DISPUTED")
			}
			t.add(append(header, "HOLDER", "MESSAGE")...)
			for _, r := range runs {
				dur := "-"
				if r.FinishedAt != nil {
					dur = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
				}
				n := func(v int64) string { return strconv.FormatInt(v, 10) }
				row := []string{n(r.ID), r.Sync, r.Mode, r.Status, r.StartedAt.UTC().Format(time.RFC3339), dur,
					n(r.Processed), n(r.Created), n(r.Updated), n(r.Unchanged), n(r.Skipped), n(r.Deleted), n(r.Errors)}
				if joins {
					row = append(row, n(r.Joined), n(r.Unmatched), n(r.Disputed))
				}
				t.add(append(row, r.Holder, r.Message)...)
			}
			return t.write(a.stdout)
		},
	}
	cmd.Flags().StringVar(&syncName, "sync", "", "only runs of this sync")
	cmd.Flags().IntVar(&limit, "limit", 20, "how many runs")
	cmd.Flags().Int64Var(&errorsOf, "errors", 0, "show the record errors of this run")
	cmd.Flags().StringVar(&output, "output", "text", "output: text or json (one JSON object)")
	return cmd
}

func (a *app) profilesCommand() *cobra.Command {
	var syncName string
	var limit int
	var output string
	cmd := &cobra.Command{
		Use:   "profiles --sync NAME",
		Short: "Show a few profiles a sync keeps",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			st, err := a.configuredStore(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer st.Close()
			ps, err := st.ListProfiles(cmd.Context(), syncName, limit)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if len(ps) == 0 {
				if err := a.knownSync(syncName); err != nil {
					return err
				}
			}
			if output == "json" {
				return writeJSONValue(a.stdout, toProfilesJSON(syncName, ps))
			}
			var t table
			t.add("DISPLAY NAME", "EMAIL", "TITLE", "DEPARTMENT", "LOCATION", "PHONE", "MANAGER", "STATE")
			for _, p := range ps {
				t.add(p.Profile.Get(profile.DisplayName), p.Profile.Get(profile.Email), p.Profile.Get(profile.Title),
					p.Profile.Get(profile.Department), p.Profile.Get(profile.Location), p.Profile.Get(profile.PhoneWork),
					managerName(p), profileState(p))
			}
			return t.write(a.stdout)
		},
	}
	cmd.Flags().StringVar(&syncName, "sync", "", "name of the sync (required)")
	cmd.Flags().IntVar(&limit, "limit", 10, "how many profiles")
	cmd.Flags().StringVar(&output, "output", "text", "output: text or json (one JSON object)")
	_ = cmd.MarkFlagRequired("sync")
	return cmd
}

// knownSync returns a usage error if the configuration has no sync called name. (A
// sync removed from the configuration still shows the runs and profiles it left.)
func (a *app) knownSync(name string) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	if cfg.Sync(name) != nil {
		return nil
	}
	names := make([]string, 0, len(cfg.Syncs))
	for _, s := range cfg.Syncs {
		names = append(names, s.Name)
	}
	return &exitError{code: exitUsage, err: fmt.Errorf("--sync %s: %s has no sync %q; it has: %s", name, a.configPath, name, strings.Join(names, ", "))}
}

// profileState tells a deleted profile (the source no longer has the person) from an
// inactive one (the source marks the person disabled) and an active one.
func profileState(p store.StoredProfile) string {
	switch {
	case p.DeletedAt != nil:
		return "deleted " + p.DeletedAt.UTC().Format(time.DateOnly)
	case !p.Profile.Active:
		return "inactive"
	}
	return "active"
}

func managerName(p store.StoredProfile) string {
	switch {
	case p.ManagerName != "":
		return p.ManagerName
	case p.ManagerID != "":
		return p.ManagerID
	}
	return "-"
}
