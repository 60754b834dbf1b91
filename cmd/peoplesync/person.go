package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/peoplesync/peoplesync/engine/store"
)

func (a *app) personCommand() *cobra.Command {
	var syncName, output string
	cmd := &cobra.Command{
		Use:   "person (PROFILE_ID | EMAIL | --sync NAME EXTERNAL_ID)",
		Short: "Show one person field by field: each value, the source it came from and since when, and what other sources offered",
		Long: `Show one person as the sources made the profile: each field with its value, the sync it
came from and since when that sync has been its source, the values other sources offered
that lost (by precedence, or because they were empty), and every sync's link to the
person (gone links too). Name the person by profile ID, by email (case-insensitive;
several profiles may share one), or by a sync's external ID with --sync.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			ref := store.PersonRef{}
			switch arg := args[0]; {
			case syncName != "":
				if err := a.knownSync(syncName); err != nil {
					return err
				}
				ref.Sync, ref.ExternalID = syncName, arg
			case strings.Contains(arg, "@"):
				ref.Email = arg
			default:
				ref.ProfileID = arg
			}
			st, err := a.configuredStore(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer st.Close()
			people, err := st.People(cmd.Context(), ref)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if len(people) == 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("no person %s", describeRef(ref))}
			}
			if output == "json" {
				return writeJSONValue(a.stdout, toPeopleJSON(people))
			}
			for i, p := range people {
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				if err := writePerson(a, p); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&syncName, "sync", "", "the argument is this sync's external ID")
	cmd.Flags().StringVar(&output, "output", "text", "output: text or json (one JSON object)")
	return cmd
}

func describeRef(r store.PersonRef) string {
	switch {
	case r.Sync != "":
		return fmt.Sprintf("with external ID %q in sync %q", r.ExternalID, r.Sync)
	case r.Email != "":
		return fmt.Sprintf("with email %q", r.Email)
	}
	return fmt.Sprintf("with profile ID %q", r.ProfileID)
}

func writePerson(a *app, p store.Person) error {
	state := "live"
	if p.DeletedAt != nil {
		state = "deactivated " + p.DeletedAt.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(a.stdout, "profile %s (%s)\n", p.ProfileID, state)
	if p.ManagerID != "" {
		fmt.Fprintf(a.stdout, "manager %s (%s)\n", p.ManagerName, p.ManagerID)
	}
	var t table
	t.add("FIELD", "VALUE", "SOURCE", "SINCE", "LOST")
	for _, f := range p.Fields {
		since := ""
		if f.Since != nil {
			since = f.Since.UTC().Format(time.RFC3339)
		}
		lost := make([]string, len(f.Offers))
		for i, o := range f.Offers {
			lost[i] = fmt.Sprintf("%s: %q", o.Sync, o.Value)
		}
		t.add(f.Field, f.Value, f.Source, since, strings.Join(lost, "; "))
	}
	if err := t.write(a.stdout); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout)
	var l table
	l.add("SYNC", "EXTERNAL ID", "LINKED", "STATE")
	for _, link := range p.Links {
		linked, st := "", "has the person"
		if link.LinkedAt != nil {
			linked = link.LinkedAt.UTC().Format(time.RFC3339)
		}
		if link.GoneAt != nil {
			st = "dropped " + link.GoneAt.UTC().Format(time.RFC3339)
		}
		l.add(link.Sync, link.ExternalID, linked, st)
	}
	return l.write(a.stdout)
}

// personJSON is a person in --output json.
type personJSON struct {
	ProfileID   string            `json:"profile_id"`
	DeletedAt   *time.Time        `json:"deleted_at"`
	ManagerID   string            `json:"manager_id"`
	ManagerName string            `json:"manager_name"`
	Fields      []personFieldJSON `json:"fields"`
	Links       []personLinkJSON  `json:"links"`
}

type personFieldJSON struct {
	Field  string      `json:"field"`
	Value  string      `json:"value"`
	Source string      `json:"source"`
	Since  *time.Time  `json:"since"`
	Lost   []offerJSON `json:"lost"`
}

type offerJSON struct {
	Sync  string `json:"sync"`
	Value string `json:"value"`
}

type personLinkJSON struct {
	Sync       string     `json:"sync"`
	ExternalID string     `json:"external_id"`
	DN         string     `json:"dn"`
	LinkedAt   *time.Time `json:"linked_at"`
	GoneAt     *time.Time `json:"gone_at"`
}

func toPeopleJSON(people []store.Person) map[string]any {
	out := make([]personJSON, len(people))
	for i, p := range people {
		pj := personJSON{ProfileID: p.ProfileID, DeletedAt: p.DeletedAt, ManagerID: p.ManagerID, ManagerName: p.ManagerName,
			Fields: []personFieldJSON{}, Links: []personLinkJSON{}}
		for _, f := range p.Fields {
			fj := personFieldJSON{Field: f.Field, Value: f.Value, Source: f.Source, Since: f.Since, Lost: []offerJSON{}}
			for _, o := range f.Offers {
				fj.Lost = append(fj.Lost, offerJSON(o))
			}
			pj.Fields = append(pj.Fields, fj)
		}
		for _, l := range p.Links {
			pj.Links = append(pj.Links, personLinkJSON{Sync: l.Sync, ExternalID: l.ExternalID, DN: l.DN, LinkedAt: l.LinkedAt, GoneAt: l.GoneAt})
		}
		out[i] = pj
	}
	return map[string]any{"people": out}
}

func (a *app) pendingCommand() *cobra.Command {
	var syncName, output string
	var limit int
	cmd := &cobra.Command{
		Use:   "pending --sync NAME",
		Short: "List a sync's records that found no person (unmatched) or several (disputed)",
		Long: `List the records of a sync that joins which have no profile: unmatched ones (no profile
had their join keys, and the sync may not create people: they join when such a profile
appears) and disputed ones (several profiles matched, or one the sync links already:
nothing is merged until the source data is fixed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if err := a.knownSync(syncName); err != nil {
				return err
			}
			st, err := a.configuredStore(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer st.Close()
			recs, err := st.Pending(cmd.Context(), syncName, limit)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if output == "json" {
				type rec struct {
					ExternalID string            `json:"external_id"`
					Situation  string            `json:"situation"`
					Name       string            `json:"name"`
					Keys       map[string]string `json:"keys"`
					Candidates []string          `json:"candidates"`
					Since      time.Time         `json:"since"`
				}
				out := make([]rec, len(recs))
				for i, r := range recs {
					out[i] = rec{r.ExternalID, r.Situation, r.Name, r.Keys, r.Candidates, r.Since}
					if out[i].Candidates == nil {
						out[i].Candidates = []string{}
					}
				}
				return writeJSONValue(a.stdout, map[string]any{"sync": syncName, "pending": out})
			}
			var t table
			t.add("EXTERNAL ID", "SITUATION", "NAME", "KEYS", "CANDIDATES", "SINCE")
			for _, r := range recs {
				var keys []string
				for k, v := range r.Keys {
					keys = append(keys, k+"="+v)
				}
				t.add(r.ExternalID, r.Situation, r.Name, strings.Join(slices.Sorted(slices.Values(keys)), ", "),
					strings.Join(r.Candidates, ", "), r.Since.UTC().Format(time.RFC3339))
			}
			return t.write(a.stdout)
		},
	}
	cmd.Flags().StringVar(&syncName, "sync", "", "name of the sync (required)")
	cmd.Flags().IntVar(&limit, "limit", 100, "how many records (0: all)")
	cmd.Flags().StringVar(&output, "output", "text", "output: text or json (one JSON object)")
	_ = cmd.MarkFlagRequired("sync")
	return cmd
}
