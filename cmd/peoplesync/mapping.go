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

	"github.com/peoplesync/peoplesync/config"
	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/mapper"
	"github.com/peoplesync/peoplesync/plugins/file"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

func (a *app) mappingCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "mapping", Short: "Work with mapping modules"}
	var name, input, expect, connName, idAttr string
	var callTimeout time.Duration
	test := &cobra.Command{
		Use:   "test --mapping NAME --input FILE [--expect GOLDEN]",
		Short: "Map every record of an LDIF, CSV or JSON Lines file and print the results as JSON Lines",
		Long: "Map every record of an LDIF, CSV or JSON Lines file with the mapping NAME of the configuration\n" +
			"and print one JSON object per record: its profile, its skip reason or its error.\n" +
			"With --expect, compare the output with a golden file instead and fail on any difference.\n" +
			"The file is read as the file connector of the sync that uses the mapping reads its export\n" +
			"(its id_attribute, dn_attribute, separator and binary attributes), or as --connector NAME does.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.mappingTest(cmd.Context(), mappingTestArgs{name: name, input: input, expect: expect,
				connector: connName, idAttribute: idAttr, callTimeout: callTimeout})
		},
	}
	test.Flags().StringVar(&name, "mapping", "", "name of the mapping block (required)")
	test.Flags().StringVar(&input, "input", "", "records to map: .ldif, .csv or .jsonl (required)")
	test.Flags().StringVar(&expect, "expect", "", "golden JSON Lines file the output must equal")
	test.Flags().DurationVar(&callTimeout, "call-timeout", 10*time.Second,
		"fail a call into the module (a batch of records) that runs longer, so a module that loops forever fails its test (0: the mapper's default)")
	test.Flags().StringVar(&connName, "connector", "", "read the input as this file connector's config block does (default: the connector of the sync that uses the mapping)")
	test.Flags().StringVar(&idAttr, "id-attribute", "", "the attribute or column that holds each record's ID (overrides the connector's)")
	_ = test.MarkFlagRequired("mapping")
	_ = test.MarkFlagRequired("input")
	cmd.AddCommand(test)
	return cmd
}

// mappingTestArgs are the flags of mapping test.
type mappingTestArgs struct {
	name, input, expect    string
	connector, idAttribute string
	callTimeout            time.Duration
}

func (a *app) mappingTest(ctx context.Context, args mappingTestArgs) error {
	name, input, expect, callTimeout := args.name, args.input, args.expect, args.callTimeout
	cfg, err := a.loadConfigWithoutStore()
	if err != nil {
		return err
	}
	m := cfg.Mapping(name)
	if m == nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("%s has no mapping %q", a.configPath, name)}
	}
	readCfg, from, err := inputConfig(cfg, name, args.connector, input)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if args.idAttribute != "" {
		readCfg["id_attribute"] = args.idAttribute
	}
	hint := ""
	if args.idAttribute == "" {
		// A file that cannot be read may simply have its IDs elsewhere: say whose ID
		// attribute this was and how to read the file otherwise.
		hint = idAttributeHint(readCfg, from)
	}
	records, err := readRecordFile(ctx, input, readCfg, hint)
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

// idAttributeHint says where the ID attribute with which mapping test read the input
// came from, and how to pick another.
func idAttributeHint(readCfg map[string]any, from string) string {
	id, _ := readCfg["id_attribute"].(string)
	var b strings.Builder
	switch {
	case id != "" && from != "":
		fmt.Fprintf(&b, "The ID attribute %q is the id_attribute of %s.", id, from)
	case from != "":
		fmt.Fprintf(&b, "The ID attribute is the file connector's default (%s sets no id_attribute).", from)
	default:
		b.WriteString("No sync reads this mapping's records with a file connector, so the ID attribute is the file connector's default.")
	}
	b.WriteString(" --id-attribute COLUMN names the column that holds each record's ID; --connector NAME reads the file as that file connector's config block does.")
	return b.String()
}

// inputConfig is the file connector config with which mapping test reads input: that
// of connName, or of the file connector of the first sync that uses the mapping, with
// path and format those of input; just the path if there is no such connector. from
// says which connector's it is ("connector \"hr\" (used by sync \"people\")"), or "".
func inputConfig(cfg *config.Config, mapping, connName, input string) (out map[string]any, from string, err error) {
	if connName != "" {
		from = fmt.Sprintf("connector %q (--connector)", connName)
	} else {
		for _, s := range cfg.Syncs {
			if c := cfg.Connector(s.Connector); s.Mapping == mapping && c != nil && !c.External && c.Plugin == "file" {
				connName = c.Name
				from = fmt.Sprintf("connector %q, which sync %q reads with this mapping", c.Name, s.Name)
				break
			}
		}
	}
	out, err = connectorReadConfig(cfg, connName)
	if err != nil {
		return nil, "", err
	}
	out["path"] = input
	if ext := strings.TrimPrefix(filepath.Ext(input), "."); ext != "" {
		out["format"] = ext
	}
	return out, from, nil
}

// connectorReadConfig is the decoded config block of the file connector connName, or
// an empty one without a name.
func connectorReadConfig(cfg *config.Config, connName string) (map[string]any, error) {
	out := map[string]any{}
	if connName != "" {
		c := cfg.Connector(connName)
		if c == nil {
			return nil, fmt.Errorf("--connector: %s has no connector %q", cfg.Filename, connName)
		}
		if c.External || c.Plugin != "file" {
			return nil, fmt.Errorf("--connector %s: only a file connector's block says how to read a file; %s is %q", connName, connName, c.Plugin)
		}
		desc, err := file.New().Describe(context.Background())
		if err != nil {
			return nil, err
		}
		raw, diags := c.DecodeConfig(desc.Schema)
		if diags.HasErrors() {
			return nil, fmt.Errorf("connector %q: %s", connName, diags.Error())
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("connector %q: %w", connName, err)
		}
	}
	return out, nil
}

// readRecordFile reads every record of an export file with the bundled file connector,
// in process, configured with readCfg. hint, if any, follows an error in the file's
// records on a line of its own.
func readRecordFile(ctx context.Context, path string, readCfg map[string]any, hint string) ([]connector.Record, error) {
	c := file.New()
	raw, err := json.Marshal(readCfg)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
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
	if err != nil && hint != "" {
		return nil, fmt.Errorf("read %s: %w\n%s", path, err, hint)
	}
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
