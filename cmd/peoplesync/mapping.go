package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/mapper"
	"github.com/peoplesync/peoplesync/plugins/file"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

func (a *app) mappingCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "mapping", Short: "Work with mapping modules"}
	var name, input, expect string
	var callTimeout time.Duration
	test := &cobra.Command{
		Use:   "test --mapping NAME --input FILE [--expect GOLDEN]",
		Short: "Map every record of an LDIF, CSV or JSON Lines file and print the results as JSON Lines",
		Long: "Map every record of an LDIF, CSV or JSON Lines file with the mapping NAME of the configuration\n" +
			"and print one JSON object per record: its profile, its skip reason or its error.\n" +
			"With --expect, compare the output with a golden file instead and fail on any difference.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.mappingTest(cmd.Context(), name, input, expect, callTimeout)
		},
	}
	test.Flags().StringVar(&name, "mapping", "", "name of the mapping block (required)")
	test.Flags().StringVar(&input, "input", "", "records to map: .ldif, .csv or .jsonl (required)")
	test.Flags().StringVar(&expect, "expect", "", "golden JSON Lines file the output must equal")
	test.Flags().DurationVar(&callTimeout, "call-timeout", 10*time.Second,
		"fail a call into the module (a batch of records) that runs longer, so a module that loops forever fails its test (0: no limit)")
	_ = test.MarkFlagRequired("mapping")
	_ = test.MarkFlagRequired("input")
	cmd.AddCommand(test)
	return cmd
}

func (a *app) mappingTest(ctx context.Context, name, input, expect string, callTimeout time.Duration) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	m := cfg.Mapping(name)
	if m == nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("%s has no mapping %q", a.configPath, name)}
	}
	records, err := readRecordFile(ctx, input)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	// Authors' tests run with a time limit (unless the mapping sets its own), so that a
	// module that loops forever fails here rather than hanging a production run.
	opts := mapper.Options{CallTimeout: callTimeout}
	if m.CallTimeout > 0 {
		opts.CallTimeout = m.CallTimeout
	}
	mod, err := mapper.Compile(ctx, m.Module, opts)
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("mapping %q: %w", name, err)}
	}
	defer mod.Close(ctx)
	mp, err := mod.NewMapper(ctx, m.SettingsJSON)
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("mapping %q: %w", name, err)}
	}
	defer mp.Close(ctx)

	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	for i, res := range mapAsASyncWould(ctx, mp, records) {
		if err := enc.Encode(resultDoc(records[i].ID, res)); err != nil {
			return err
		}
	}
	if expect == "" {
		_, err := a.stdout.Write(out.Bytes())
		return err
	}
	want, err := os.ReadFile(expect)
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("read expected output: %w", err)}
	}
	if diff := diffLines(string(want), out.String()); diff != "" {
		fmt.Fprintf(a.stdout, "mapping %q over %s differs from %s:\n%s", name, input, expect, diff)
		return &exitError{code: exitFailed, err: fmt.Errorf("output differs from %s", expect)}
	}
	fmt.Fprintf(a.stdout, "ok: %d records match %s\n", len(records), expect)
	return nil
}

// mapAsASyncWould maps records as a sync's run would: a record the connector could not
// read is its problem, not mapped, and a profile a run would refuse to write is that
// refusal (the sync's required_fields aside, which belong to a sync, not a mapping).
func mapAsASyncWould(ctx context.Context, mp *mapper.Mapper, records []connector.Record) []mapper.Result {
	results := make([]mapper.Result, len(records))
	var readable []connector.Record
	var at []int
	for i, r := range records {
		if r.Kind == connector.Invalid {
			results[i] = mapper.Result{Err: errors.New(r.Problem)}
			continue
		}
		readable = append(readable, r)
		at = append(at, i)
	}
	for j, res := range mp.Map(ctx, readable) {
		if res.Err == nil && res.SkipReason == "" && res.Profile != nil {
			if err := engine.CheckProfile(res.Profile, nil); err != nil {
				res = mapper.Result{Err: err}
			}
		}
		results[at[j]] = res
	}
	return results
}

// readRecordFile reads every record of an export file with the bundled file connector,
// in process.
func readRecordFile(ctx context.Context, path string) ([]connector.Record, error) {
	c := file.New()
	format := strings.TrimPrefix(filepath.Ext(path), ".")
	raw, _ := json.Marshal(map[string]string{"path": path, "format": format})
	diags, err := c.Configure(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("read %s: %s: %s", path, diags[0].Summary, diags[0].Detail)
	}
	var records []connector.Record
	_, err = c.Read(ctx, connector.ReadRequest{}, func(r connector.Record) error {
		records = append(records, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return records, nil
}

// resultDoc is the JSON form of one mapping result.
func resultDoc(id string, r mapper.Result) map[string]any {
	doc := map[string]any{"id": id}
	switch {
	case r.Err != nil:
		doc["error"] = r.Err.Error()
	case r.SkipReason != "":
		doc["skip"] = r.SkipReason
	case r.Profile != nil:
		doc["profile"] = profileDoc(r.Profile)
	}
	return doc
}

// profileDoc is the JSON form of a profile: its non-empty fields by name.
func profileDoc(p *profile.Profile) map[string]any {
	doc := map[string]any{"active": p.Active}
	for i, name := range profile.CoreFields {
		if p.Core[i] != "" {
			doc[name] = p.Core[i]
		}
	}
	if p.Manager != "" {
		doc["manager"] = p.Manager
	}
	if len(p.Attributes) > 0 {
		doc["attributes"] = p.Attributes
	}
	if p.Photo != nil {
		sum := sha256.Sum256(p.Photo.Data)
		doc["photo"] = map[string]any{"content_type": p.Photo.ContentType, "bytes": len(p.Photo.Data), "sha256": hex.EncodeToString(sum[:])}
	}
	if len(p.Seeded) > 0 {
		doc["seeded"] = p.Seeded
	}
	return doc
}

// diffLines returns the lines that differ between want and got, or "" if none do.
func diffLines(want, got string) string {
	wl, gl := splitLines(want), splitLines(got)
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < 10; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if jsonEqual(w, g) {
			continue
		}
		shown++
		fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, w, g)
	}
	return b.String()
}

func splitLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// jsonEqual compares two JSON lines by value, so key order and spacing do not matter.
func jsonEqual(a, b string) bool {
	if a == b {
		return true
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
