package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // timezones must resolve in minimal container images too

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/robfig/cron/v3"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/peoplesync/peoplesync/sdk/profile"
)

// Parser loads configuration files and keeps every file it parsed, so that diagnostics
// can be printed with source snippets. The zero value is not ready: use NewParser.
type Parser struct {
	// LookupEnv resolves the env() function; nil means os.LookupEnv. Tests set it to
	// isolate themselves from the process environment.
	LookupEnv func(key string) (string, bool)

	files map[string]*hcl.File
}

// NewParser returns a Parser that reads the process environment.
func NewParser() *Parser {
	return &Parser{files: map[string]*hcl.File{}}
}

// Load reads and parses the configuration file at path with a new Parser. See
// Parser.Parse for what it returns.
func Load(path string) (*Config, hcl.Diagnostics) {
	return NewParser().Load(path)
}

// Parse parses src as the configuration file filename with a new Parser, resolving
// relative paths against filepath.Dir(filename). See Parser.Parse for what it returns.
func Parse(src []byte, filename string) (*Config, hcl.Diagnostics) {
	return NewParser().Parse(src, filename)
}

// Load reads and parses the configuration file at path.
func (p *Parser) Load(path string) (*Config, hcl.Diagnostics) {
	src, err := readLimited(path)
	if err != nil {
		cfg := p.newConfig(path)
		start := hcl.Pos{Line: 1, Column: 1}
		return cfg, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration file",
			Detail:   err.Error(),
			Subject:  &hcl.Range{Filename: path, Start: start, End: start},
		}}
	}
	return p.Parse(src, path)
}

// Parse parses src as the configuration file filename; relative paths in it resolve
// against filepath.Dir(filename). It keeps going after a problem and returns every
// diagnostic it found, sorted by position. The Config is never nil, and its Files are
// set, but when the diagnostics hold an error the rest of it is incomplete.
func (p *Parser) Parse(src []byte, filename string) (*Config, hcl.Diagnostics) {
	cfg := p.newConfig(filename)
	if diags := checkLimits(src, filename); diags.HasErrors() {
		// Keep the file for its snippet, unless it is too large to print.
		f := &hcl.File{Body: hcl.EmptyBody()}
		if len(src) <= MaxFileSize {
			f.Bytes = src
		}
		p.files[filename] = f
		return cfg, diags
	}
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if file != nil {
		p.files[filename] = file
	}
	if diags.HasErrors() {
		boundDiagnostics(diags)
		return cfg, diags
	}
	d := &decoder{cfg: cfg, ctx: evalContext(p.LookupEnv, cfg.Dir), diags: diags, from: map[*hcl.Attribute]string{}}
	d.decodeFile(file.Body)
	sortDiagnostics(d.diags)
	boundDiagnostics(d.diags)
	return cfg, d.diags
}

func (p *Parser) newConfig(filename string) *Config {
	if p.files == nil {
		p.files = map[string]*hcl.File{}
	}
	return &Config{Filename: filename, Dir: filepath.Dir(filename), Files: p.files, secrets: &secretSet{}}
}

// rootSchema is the file's: the blocks it holds. The schema of each block is the table of
// fields its decode function gives decoder.block.
var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "store"},
		{Type: "connector", LabelNames: []string{"name"}},
		{Type: "mapping", LabelNames: []string{"name"}},
		{Type: "sync", LabelNames: []string{"name"}},
		{Type: "precedence"},
	},
}

var sha256Pattern = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// cronParser accepts what the scheduler runs: five fields, descriptors, @every.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a schedule or delta_schedule the way Load checks it: five cron
// fields (minute hour day-of-month month day-of-week), a descriptor such as @hourly, or
// "@every DURATION". The timezone belongs in the sync's timezone attribute, not in a
// TZ= prefix.
func ParseSchedule(spec string) (cron.Schedule, error) {
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, fmt.Errorf("a TZ= prefix is not allowed; set the sync's timezone attribute instead")
	}
	s, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("parse schedule: %w", err)
	}
	return s, nil
}

// decoder decodes one file's body into cfg, collecting diagnostics as it goes.
type decoder struct {
	cfg   *Config
	ctx   *hcl.EvalContext
	diags hcl.Diagnostics
	// refs are the syncs' references, checked once every block is known.
	refs []reference
	// from tells, for each attribute evaluated to a value from env() or file(), which
	// calls it came from; show quotes such a value by its source instead.
	from map[*hcl.Attribute]string
}

// plain tells whether a value may be quoted whole, as the errors of the libraries that
// parse it do: it is short and not from env() or file().
func (d *decoder) plain(attr *hcl.Attribute, s string) bool {
	return d.from[attr] == "" && len(s) <= MaxQuoted
}

// show renders an attribute's value for a diagnostic: quoted and cut short, or, for a
// value from env() or file(), as where it came from.
func (d *decoder) show(attr *hcl.Attribute, s string) string {
	if from := d.from[attr]; from != "" {
		return fromLabel(from)
	}
	return quote(s)
}

type reference struct {
	kind, name string
	rng        hcl.Range
}

func (d *decoder) add(diags hcl.Diagnostics) {
	d.diags = append(d.diags, diags...)
}

func (d *decoder) errorf(rng hcl.Range, summary, format string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  rng.Ptr(),
	})
}

// field is one attribute of a block: its name, whether the block must have it, and what
// decodes its value (mostly into, which keeps a valid value in the block's struct).
// A block's fields are its schema: adding an attribute is adding a field.
type field struct {
	name     string
	required bool
	decode   func(*hcl.Attribute)
}

// nested is a type of block a block may hold once, and what decodes it.
type nested struct {
	typ    string
	decode func(*hcl.Block)
}

// into makes a field's decode function from a typed decoder: decode reports what is wrong
// with the value, and only a value it accepts is stored in *dst, which otherwise keeps
// its default.
func into[T any](dst *T, decode func(*hcl.Attribute) (T, bool)) func(*hcl.Attribute) {
	return func(attr *hcl.Attribute) {
		if v, ok := decode(attr); ok {
			*dst = v
		}
	}
}

// block decodes b's body: it checks it against the schema its fields and nested blocks
// make, records in given (unless nil) where each attribute and nested block was written,
// then decodes each attribute the body has and each nested block, in the order listed.
// A second nested block of a type is reported and passed over.
func (d *decoder) block(b *hcl.Block, given *ranges, fields []field, blocks ...nested) {
	schema := &hcl.BodySchema{}
	for _, f := range fields {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: f.name, Required: f.required})
	}
	for _, n := range blocks {
		schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: n.typ})
	}
	content, diags := b.Body.Content(schema)
	d.add(diags)
	r := ranges{}
	for name, attr := range content.Attributes {
		r[name] = attr.Expr.Range()
	}
	if given != nil {
		*given = r
	}
	for _, f := range fields {
		if attr, ok := content.Attributes[f.name]; ok {
			f.decode(attr)
		}
	}
	for _, n := range blocks {
		var first *hcl.Block
		for _, nb := range content.Blocks {
			switch {
			case nb.Type != n.typ:
			case first != nil:
				d.errorf(nb.DefRange, "Duplicate "+n.typ+" block",
					"A %s has at most one %s block; the first is at %s.", b.Type, n.typ, at(first.DefRange))
			default:
				first = nb
				r[n.typ] = nb.DefRange
				n.decode(nb)
			}
		}
	}
}

func (d *decoder) decodeFile(body hcl.Body) {
	content, diags := body.Content(rootSchema)
	d.add(diags)

	var store, precedence *hcl.Block
	declared := map[string]map[string]hcl.Range{"connector": {}, "mapping": {}, "sync": {}}
	for _, b := range content.Blocks {
		switch {
		case b.Type == "store" && store != nil:
			d.errorf(b.DefRange, "Duplicate store block",
				"Only one store block is allowed; the first is at %s.", at(store.DefRange))
			continue
		case b.Type == "store":
			store = b
			d.decodeStore(b)
			continue
		case b.Type == "precedence" && precedence != nil:
			d.errorf(b.DefRange, "Duplicate precedence block",
				"Only one precedence block is allowed; the first is at %s.", at(precedence.DefRange))
			continue
		case b.Type == "precedence":
			precedence = b
			d.decodePrecedence(b)
			continue
		}
		// A duplicate is still decoded, so that its own problems are reported too, but it
		// is not kept.
		name := b.Labels[0]
		first, dup := declared[b.Type][name]
		if dup {
			d.errorf(b.LabelRanges[0], fmt.Sprintf("Duplicate %s %s", b.Type, quote(name)),
				"A %s named %s is already declared at %s.", b.Type, quote(name), at(first))
		} else {
			declared[b.Type][name] = b.DefRange
		}
		if !hclsyntax.ValidIdentifier(name) {
			d.errorf(b.LabelRanges[0], fmt.Sprintf("Invalid %s name", b.Type),
				"%s is not a valid name: a name starts with a letter or underscore and holds only letters, digits, underscores and dashes.", quote(name))
		}
		switch b.Type {
		case "connector":
			if c := d.decodeConnector(b); !dup {
				d.cfg.Connectors = append(d.cfg.Connectors, c)
			}
		case "mapping":
			if m := d.decodeMapping(b); !dup {
				d.cfg.Mappings = append(d.cfg.Mappings, m)
			}
		case "sync":
			if s := d.decodeSync(b); !dup {
				d.cfg.Syncs = append(d.cfg.Syncs, s)
			}
		}
	}
	if store == nil {
		d.errorf(body.MissingItemRange(), "Missing store block",
			"A configuration needs a store block with the url of the profile database, like store { url = env(\"DATABASE_URL\") }.")
	}
	for _, r := range d.refs {
		if _, ok := declared[r.kind][r.name]; ok {
			continue
		}
		d.errorf(r.rng, "Reference to undeclared "+r.kind,
			"No %s named %s is declared. %s", r.kind, quote(r.name), declaredList(r.kind, declared[r.kind]))
	}
	d.checkSources(declared["sync"])
	d.checkPreviousNames(declared["sync"])
}

// at renders where a block starts, as file:line:column.
func at(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

func declaredList(kind string, names map[string]hcl.Range) string {
	if len(names) == 0 {
		return fmt.Sprintf("This file declares no %ss.", kind)
	}
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	return fmt.Sprintf("Declared %ss: %s.", kind, strings.Join(list, ", "))
}

func (d *decoder) decodeStore(b *hcl.Block) {
	st := &d.cfg.Store
	st.DeclRange = b.DefRange
	d.block(b, &st.given, []field{
		{"url", true, into(&st.URL, d.nonEmptyString)},
		{"lease_ttl", false, into(&st.LeaseTTL, d.duration(`"30s"`, span{min: time.Second}))},
	})
}

func (d *decoder) decodeConnector(b *hcl.Block) *Connector {
	c := &Connector{
		Name:      b.Labels[0],
		DeclRange: b.DefRange,
		evalCtx:   d.ctx,
		secrets:   d.cfg.secrets,
		// Without a config block, missing attributes are reported on the connector block.
		Config: &hclsyntax.Body{SrcRange: b.DefRange, EndRange: b.DefRange},
	}
	var plugin *hcl.Attribute // for the sha256 of a bundled connector
	d.block(b, &c.given, []field{
		{"plugin", true, func(attr *hcl.Attribute) { plugin = attr; d.plugin(c, attr) }},
		{"sha256", false, func(attr *hcl.Attribute) { d.sha256(c, attr, plugin) }},
	}, nested{"config", func(cb *hcl.Block) { c.Config = cb.Body }})
	return c
}

// plugin decodes a connector's plugin: a bundled connector's name, or the path of a
// plugin binary, which must be an executable file and, without a sha256 beside it, is
// warned about.
func (d *decoder) plugin(c *Connector, attr *hcl.Attribute) {
	plugin, ok := d.nonEmptyString(attr)
	if !ok {
		return
	}
	c.Plugin = plugin
	if !looksLikePath(plugin) {
		return
	}
	c.External = true
	before := len(d.diags)
	c.Plugin = d.existingFile(attr, plugin, "Plugin binary", true)
	if _, sum := c.given["sha256"]; !sum && len(d.diags) == before {
		// A warning, not an error: a plugin being developed changes with every build.
		// validate prints it; so does every command that loads.
		d.diags = append(d.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "External plugin without sha256",
			Detail: fmt.Sprintf("Connector %q starts %s without checking what it runs: whoever can replace that file runs code as peoplesync, with its secrets. Add sha256 = \"…\" (the output of sha256sum) to the connector block.",
				c.Name, d.show(attr, plugin)),
			Subject: c.RangeOf("plugin").Ptr(),
		})
	}
}

// sha256 decodes the checksum of an external plugin binary; plugin is the connector's
// plugin attribute, decoded before it.
func (d *decoder) sha256(c *Connector, attr, plugin *hcl.Attribute) {
	sum, ok := d.str(attr)
	if !ok {
		return
	}
	switch {
	case len(sum) != 64:
		d.errorf(attr.Expr.Range(), "Invalid sha256",
			"sha256 must be 64 hexadecimal characters (the output of sha256sum); got %d characters.", len(sum))
	case !sha256Pattern.MatchString(sum):
		d.errorf(attr.Expr.Range(), "Invalid sha256",
			"sha256 must be 64 hexadecimal characters (the output of sha256sum); it holds characters other than 0-9 and a-f.")
	case c.Plugin != "" && !c.External:
		d.errorf(attr.Expr.Range(), "Unexpected sha256",
			"sha256 checks an external plugin binary, but %s is a bundled connector.", d.show(plugin, c.Plugin))
	default:
		c.SHA256 = strings.ToLower(sum)
	}
}

// looksLikePath tells a plugin binary's path from a bundled connector's name.
func looksLikePath(s string) bool {
	return strings.ContainsRune(s, '/') || strings.ContainsRune(s, filepath.Separator) || strings.HasPrefix(s, ".")
}

// existingFile resolves a path written in the file, checks that it names a regular file
// (an executable one, if exec), and returns its absolute path.
func (d *decoder) existingFile(attr *hcl.Attribute, path, what string, exec bool) string {
	resolved := resolvePath(d.cfg.Dir, path)
	abs, err := filepath.Abs(resolved)
	if err == nil {
		resolved = abs
	}
	fi, err := os.Stat(resolved)
	switch {
	case err != nil && os.IsNotExist(err):
		d.errorf(attr.Expr.Range(), what+" not found",
			"There is no file %s relative to the configuration's directory %q.", d.show(attr, path), d.cfg.Dir)
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said already
		}
		d.errorf(attr.Expr.Range(), what+" not readable", "Cannot use %s: %s.", d.show(attr, path), err)
	case !fi.Mode().IsRegular():
		d.errorf(attr.Expr.Range(), what+" is not a file", "%s is not a regular file.", d.show(attr, path))
	case exec && runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0:
		d.errorf(attr.Expr.Range(), what+" is not executable", "%s has no execute permission.", d.show(attr, path))
	}
	return resolved
}

func (d *decoder) decodeMapping(b *hcl.Block) *Mapping {
	m := &Mapping{
		Name:         b.Labels[0],
		DeclRange:    b.DefRange,
		SettingsJSON: []byte("{}"),
		secrets:      d.cfg.secrets,
	}
	d.block(b, &m.given, []field{
		{"module", true, into(&m.Module, d.module)},
		{"call_timeout", false, into(&m.CallTimeout, d.duration(`"5s"`, span{
			min:    MinCallTimeout,
			whyMin: "one call maps a batch of 64 records, which can take tens of milliseconds on a busy machine",
			max:    MaxCallTimeout,
			whyMax: "a module that loops forever holds its run for several times the limit before it counts as stuck",
		}))},
		{"settings", false, func(attr *hcl.Attribute) {
			into(&m.SettingsJSON, d.settings)(attr)
			m.settingRanges = settingRanges(attr)
		}},
	})
	return m
}

// settingRanges are where each key of a settings object was written, key and value: a
// setting the module rejects is pointed at, not the whole object. Keys that are not
// plain names or strings are left out (their diagnostics point at the object).
func settingRanges(attr *hcl.Attribute) map[string]hcl.Range {
	obj, ok := attr.Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil
	}
	out := make(map[string]hcl.Range, len(obj.Items))
	for _, item := range obj.Items {
		key := hcl.ExprAsKeyword(item.KeyExpr)
		if key == "" {
			v, diags := item.KeyExpr.Value(nil)
			if diags.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
				continue
			}
			key = v.AsString()
		}
		out[key] = hcl.RangeBetween(item.KeyExpr.Range(), item.ValueExpr.Range())
	}
	return out
}

// module decodes the path of a mapping module, which must be a file.
func (d *decoder) module(attr *hcl.Attribute) (string, bool) {
	path, ok := d.nonEmptyString(attr)
	if !ok {
		return "", false
	}
	return d.existingFile(attr, path, "Mapping module", false), true
}

// shortDuration writes d as a user would: "10m", not "10m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// span bounds a duration beyond being positive: min and max, where not zero, each with
// the reason a user who crosses it is told (none if empty).
type span struct {
	min, max       time.Duration
	whyMin, whyMax string
}

// duration makes the decoder of a positive duration within s; example shows how one is
// written, as `"30s"`.
func (d *decoder) duration(example string, s span) func(*hcl.Attribute) (time.Duration, bool) {
	because := func(why string) string {
		if why == "" {
			return ""
		}
		return ": " + why
	}
	return func(attr *hcl.Attribute) (time.Duration, bool) {
		str, ok := d.str(attr)
		if !ok {
			return 0, false
		}
		dur, err := time.ParseDuration(str)
		switch {
		case err != nil && d.plain(attr, str):
			d.errorf(attr.Expr.Range(), "Invalid duration", "%s must be a duration like %s: %s.", attr.Name, example, err)
		case err != nil: // the parser's message quotes the value whole
			d.errorf(attr.Expr.Range(), "Invalid duration", "%s must be a duration like %s; %s is not one.", attr.Name, example, d.show(attr, str))
		case dur <= 0:
			d.errorf(attr.Expr.Range(), "Invalid duration", "%s must be positive; got %s.", attr.Name, d.show(attr, str))
		case dur < s.min:
			d.errorf(attr.Expr.Range(), "Invalid duration", "%s must be at least %s%s; got %s.",
				attr.Name, shortDuration(s.min), because(s.whyMin), d.show(attr, shortDuration(dur)))
		case s.max > 0 && dur > s.max:
			d.errorf(attr.Expr.Range(), "Invalid duration", "%s must be at most %s%s; got %s.",
				attr.Name, shortDuration(s.max), because(s.whyMax), d.show(attr, shortDuration(dur)))
		default:
			return dur, true
		}
		return 0, false
	}
}

// settings evaluates a mapping's settings object into JSON.
func (d *decoder) settings(attr *hcl.Attribute) ([]byte, bool) {
	v, diags := attr.Expr.Value(d.ctx)
	d.add(diags)
	if diags.HasErrors() {
		return nil, false
	}
	v = d.unmarkAttr(attr, v)
	if v.IsNull() {
		return []byte("{}"), true
	}
	if ty := v.Type(); !ty.IsObjectType() && !ty.IsMapType() {
		d.errorf(attr.Expr.Range(), "Incorrect attribute value type",
			"Inappropriate value for attribute %q: an object like { key = \"value\" } is required, not %s.", attr.Name, ty.FriendlyName())
		return nil, false
	}
	js, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		d.errorf(attr.Expr.Range(), "Invalid settings", "The settings cannot be encoded as JSON: %s.", err)
		return nil, false
	}
	return js, true
}

func (d *decoder) decodeSync(b *hcl.Block) *Sync {
	s := &Sync{
		Name:      b.Labels[0],
		Timezone:  time.UTC,
		Timeout:   DefaultTimeout,
		BatchSize: DefaultBatchSize,
		Deletion: Deletion{
			MaxCount:        DefaultDeletionMaxCount,
			MaxPercent:      DefaultDeletionMaxPercent,
			MaxErrorPercent: DefaultDeletionMaxErrorPercent,
		},
		DeclRange: b.DefRange,
	}
	del := &s.Deletion
	d.block(b, &s.given, []field{
		{"connector", true, into(&s.Connector, d.reference)},
		{"mapping", true, into(&s.Mapping, d.reference)},
		{"schedule", true, into(&s.Schedule, d.schedule)},
		{"delta_schedule", false, into(&s.DeltaSchedule, d.schedule)},
		{"timezone", false, into(&s.Timezone, d.timezone)},
		{"timeout", false, into(&s.Timeout, d.duration(`"30m" or "1h30m"`, span{}))},
		{"batch_size", false, into(&s.BatchSize, d.atLeast(1))},
		{"required_fields", false, into(&s.RequiredFields, d.coreFields)},
		{"previous_names", false, func(attr *hcl.Attribute) {
			if names, rngs, ok := d.stringList(attr); ok {
				s.PreviousNames, s.previousRanges = names, rngs
			}
		}},
	}, nested{"deletion", func(db *hcl.Block) {
		d.block(db, nil, []field{
			{"max_count", false, into(&del.MaxCount, d.atLeast(0))},
			{"max_percent", false, into(&del.MaxPercent, d.percent)},
			{"max_error_percent", false, into(&del.MaxErrorPercent, d.percent)},
		})
	}}, nested{"people", func(pb *hcl.Block) { s.People = d.decodePeople(pb) }})
	s.TimezoneName = s.Timezone.String() // the name as written: LoadLocation keeps it
	return s
}

// timezone decodes an IANA timezone name.
func (d *decoder) timezone(attr *hcl.Attribute) (*time.Location, bool) {
	name, ok := d.nonEmptyString(attr)
	if !ok {
		return nil, false
	}
	loc, err := time.LoadLocation(name)
	switch {
	case err == nil:
		return loc, true
	case d.plain(attr, name):
		d.errorf(attr.Expr.Range(), "Unknown timezone",
			"%q is not an IANA timezone name like \"Europe/Berlin\" or \"UTC\": %s.", name, err)
	default: // the error quotes the name whole
		d.errorf(attr.Expr.Range(), "Unknown timezone",
			"timezone %s is not an IANA timezone name like \"Europe/Berlin\" or \"UTC\".", d.show(attr, name))
	}
	return nil, false
}

// percent decodes a number from 0 to 100.
func (d *decoder) percent(attr *hcl.Attribute) (float64, bool) {
	v, ok := d.eval(attr, cty.Number)
	if !ok {
		return 0, false
	}
	f, _ := v.AsBigFloat().Float64()
	if f < 0 || f > 100 {
		d.errorf(attr.Expr.Range(), "Value out of range", "%s must be between 0 and 100; got %s.", attr.Name, v.AsBigFloat().Text('g', -1))
		return 0, false
	}
	return f, true
}

// reference reads a connector.NAME or mapping.NAME reference without evaluating it; the
// name's existence is checked once every block is known. The attribute is named after the
// kind of block it refers to.
func (d *decoder) reference(attr *hcl.Attribute) (string, bool) {
	kind := attr.Name
	tr, diags := hcl.AbsTraversalForExpr(attr.Expr)
	if !diags.HasErrors() && len(tr) == 2 && tr.RootName() == kind {
		if step, ok := tr[1].(hcl.TraverseAttr); ok {
			d.refs = append(d.refs, reference{kind: kind, name: step.Name, rng: attr.Expr.Range()})
			return step.Name, true
		}
	}
	detail := fmt.Sprintf("%s must be a reference like %s.NAME.", attr.Name, kind)
	if v, vd := attr.Expr.Value(nil); !vd.HasErrors() && v.Type() == cty.String && !v.IsNull() && hclsyntax.ValidIdentifier(v.AsString()) {
		if len(v.AsString()) <= MaxQuoted {
			detail += fmt.Sprintf(" Write %s.%s, without quotes.", kind, v.AsString())
		}
	}
	d.errorf(attr.Expr.Range(), "Invalid "+kind+" reference", "%s", detail)
	return "", false
}

func (d *decoder) schedule(attr *hcl.Attribute) (string, bool) {
	spec, ok := d.str(attr)
	if !ok {
		return "", false
	}
	if _, err := ParseSchedule(spec); err != nil {
		// The parser's message may repeat the fields it got: keep it only for a short
		// value that is not a secret.
		why := ""
		if msg := strings.TrimPrefix(err.Error(), "parse schedule: "); d.plain(attr, spec) {
			why = ": " + msg
		}
		d.errorf(attr.Expr.Range(), "Invalid cron schedule",
			"%s %s is not a valid schedule%s. Use five fields (minute hour day-of-month month day-of-week), a descriptor like @hourly, or @every 10m.",
			attr.Name, d.show(attr, spec), why)
		return "", false
	}
	return spec, true
}

// unmarkAttr strips v's marks, remembering where a secret in it came from and keeping
// its strings out of diagnostics written by others.
func (d *decoder) unmarkAttr(attr *hcl.Attribute, v cty.Value) cty.Value {
	collectSecrets(d.cfg.secrets, v)
	v, from := unmark(v)
	if from != "" {
		d.from[attr] = from
	}
	return v
}

// eval evaluates an attribute and converts it to ty, reporting problems on its range.
func (d *decoder) eval(attr *hcl.Attribute, ty cty.Type) (cty.Value, bool) {
	v, diags := attr.Expr.Value(d.ctx)
	d.add(diags)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	v = d.unmarkAttr(attr, v)
	if v.IsNull() {
		d.errorf(attr.Expr.Range(), "Invalid attribute value", "%s must not be null.", attr.Name)
		return cty.NilVal, false
	}
	v, err := convert.Convert(v, ty)
	if err != nil {
		d.errorf(attr.Expr.Range(), "Incorrect attribute value type",
			"Inappropriate value for attribute %q: %s.", attr.Name, err)
		return cty.NilVal, false
	}
	return v, true
}

func (d *decoder) str(attr *hcl.Attribute) (string, bool) {
	v, ok := d.eval(attr, cty.String)
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

func (d *decoder) nonEmptyString(attr *hcl.Attribute) (string, bool) {
	s, ok := d.str(attr)
	if ok && strings.TrimSpace(s) == "" {
		d.errorf(attr.Expr.Range(), "Invalid attribute value", "%s must not be empty.", attr.Name)
		return "", false
	}
	return s, ok
}

// stringList decodes a list of strings with where each was written (see elements).
func (d *decoder) stringList(attr *hcl.Attribute) ([]string, []hcl.Range, bool) {
	v, ok := d.eval(attr, cty.List(cty.String))
	if !ok {
		return nil, nil, false
	}
	names, rngs := d.elements(attr.Name, attr.Expr, v)
	return names, rngs, true
}

// elements returns the strings of list v, the value of expr, with where each was
// written: the element's own range where expr writes the list out, expr's otherwise
// (a function's result). A null element is reported, under the name what, and left out.
func (d *decoder) elements(what string, expr hcl.Expression, v cty.Value) ([]string, []hcl.Range) {
	vals := v.AsValueSlice()
	exprs, diags := hcl.ExprList(expr)
	if diags.HasErrors() || len(exprs) != len(vals) {
		exprs = nil
	}
	names := make([]string, 0, len(vals))
	rngs := make([]hcl.Range, 0, len(vals))
	for i, e := range vals {
		rng := expr.Range()
		if exprs != nil {
			rng = exprs[i].Range()
		}
		if e.IsNull() {
			d.errorf(rng, "Invalid attribute value", "%s must not hold null.", what)
			continue
		}
		names = append(names, e.AsString())
		rngs = append(rngs, rng)
	}
	return names, rngs
}

// Nearest returns the candidate closest to name by edit distance, if one is within
// maxDistance edits: the "did you mean" of a diagnostic. "" if none is.
func Nearest(name string, candidates []string, maxDistance int) string {
	best, dist := "", maxDistance+1
	for _, c := range candidates {
		if n := levenshtein.Distance(name, c, nil); n < dist {
			best, dist = c, n
		}
	}
	return best
}

// coreFields decodes a list of core profile field names, suggesting the nearest name
// for one that is not a field, at the element that names it.
func (d *decoder) coreFields(attr *hcl.Attribute) ([]string, bool) {
	list, rngs, ok := d.stringList(attr)
	if !ok {
		return nil, false
	}
	var names []string
	for i, name := range list {
		if profile.FieldIndex(name) >= 0 {
			names = append(names, name)
			continue
		}
		hint := fmt.Sprintf("The core fields are %s.", strings.Join(profile.CoreFields[:], ", "))
		if best := Nearest(name, profile.CoreFields[:], 3); best != "" {
			hint = fmt.Sprintf("Did you mean %q?", best)
		}
		d.errorf(rngs[i], "Unknown profile field", "%s names %s, which is not a core profile field. %s", attr.Name, d.show(attr, name), hint)
	}
	return names, true
}

// atLeast makes the decoder of a whole number no smaller than least.
func (d *decoder) atLeast(least int) func(*hcl.Attribute) (int, bool) {
	return func(attr *hcl.Attribute) (int, bool) {
		n, ok := d.integer(attr)
		switch {
		case !ok:
		case n >= least:
			return n, true
		case least == 0:
			d.errorf(attr.Expr.Range(), "Value out of range", "%s must not be negative; got %d.", attr.Name, n)
		default:
			d.errorf(attr.Expr.Range(), "Value out of range", "%s must be at least %d; got %d.", attr.Name, least, n)
		}
		return 0, false
	}
}

func (d *decoder) integer(attr *hcl.Attribute) (int, bool) {
	v, ok := d.eval(attr, cty.Number)
	if !ok {
		return 0, false
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		d.errorf(attr.Expr.Range(), "Incorrect attribute value type",
			"Inappropriate value for attribute %q: a whole number is required; got %s.", attr.Name, bf.Text('g', -1))
		return 0, false
	}
	n, acc := bf.Int64()
	if acc != big.Exact || int64(int(n)) != n {
		d.errorf(attr.Expr.Range(), "Value out of range", "%s is too large.", attr.Name)
		return 0, false
	}
	return int(n), true
}

// sortDiagnostics orders diagnostics by file and position; those without a range first.
func sortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		default:
			return a.Start.Byte < b.Start.Byte
		}
	})
}
