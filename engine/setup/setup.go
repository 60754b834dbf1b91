// Package setup turns a loaded configuration into runnable syncs: it starts each sync's
// connector subprocess, hands it its config block, compiles the mapping module and opens
// the store. It is also what `peoplesync validate` runs, so every problem it finds comes
// back as an HCL diagnostic pointing at the file, line and column at fault.
package setup

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/peoplesync/peoplesync/config"
	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/connhost"
	"github.com/peoplesync/peoplesync/engine/mapper"
	"github.com/peoplesync/peoplesync/plugins"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Options shape how syncs are set up.
type Options struct {
	// Executable serves bundled connectors ("<Executable> plugin NAME"); "" means this
	// process's own binary.
	Executable string
	// Mapper configures the WASM runtime.
	Mapper mapper.Options
	Logger *slog.Logger
}

// Prepared is a sync ready to run, with what it holds open.
type Prepared struct {
	Sync    *engine.Sync
	process *connhost.Process
	mapping *lazyMapping
}

// Close stops the connector subprocess and frees the mapping module (once it has
// loaded).
func (p *Prepared) Close(ctx context.Context) {
	if p.mapping != nil {
		p.mapping.close(ctx)
	}
	if p.process != nil {
		p.process.Kill()
	}
}

// Sync prepares the sync called name.
func Sync(ctx context.Context, cfg *config.Config, name string, opts Options) (*Prepared, hcl.Diagnostics) {
	s := cfg.Sync(name)
	if s == nil {
		names := make([]string, 0, len(cfg.Syncs))
		for _, x := range cfg.Syncs {
			names = append(names, x.Name)
		}
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown sync",
			Detail:   fmt.Sprintf("%s has no sync %q; it has: %s.", cfg.Filename, name, strings.Join(names, ", ")),
		}}
	}
	c, m := cfg.Connector(s.Connector), cfg.Mapping(s.Mapping)
	if c == nil || m == nil {
		// config.Load reports dangling references; this only guards a hand-built Config.
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Sync refers to a missing connector or mapping", Subject: s.DeclRange.Ptr()}}
	}
	p := &Prepared{}
	mapping, diags := newLazyMapping(ctx, m, opts)
	if diags.HasErrors() {
		return nil, diags
	}
	p.mapping = mapping
	proc, desc, cdiags := startConnector(ctx, cfg, c, opts)
	diags = append(diags, cdiags...)
	if cdiags.HasErrors() {
		p.Close(ctx)
		return nil, diags
	}
	p.process = proc
	if d := deltaDiagnostic(s, c, desc); d != nil {
		p.Close(ctx)
		return nil, append(diags, d)
	}
	roles := s.Roles()
	p.Sync = &engine.Sync{
		Name:           s.Name,
		Connector:      proc,
		Mapper:         mapping,
		BatchSize:      s.BatchSize,
		ReadsDeltas:    desc.Capabilities.Delta,
		RequiredFields: s.RequiredFields,
		Timeout:        s.Timeout,
		Guard:          Guard(s.Deletion),
		Roles:          &roles,
		PreviousNames:  s.PreviousNames,
	}
	return p, diags
}

// Guard is the engine's deletion guard for a sync's deletion block.
func Guard(d config.Deletion) engine.Guard {
	return engine.Guard{MaxCount: d.MaxCount, MaxPercent: d.MaxPercent, MaxErrorPercent: d.MaxErrorPercent}
}

// Connector starts the connector called name and configures it from its config block,
// as Sync does; the caller must Kill the process.
func Connector(ctx context.Context, cfg *config.Config, name string, opts Options) (*connhost.Process, hcl.Diagnostics) {
	c := cfg.Connector(name)
	if c == nil {
		names := make([]string, 0, len(cfg.Connectors))
		for _, x := range cfg.Connectors {
			names = append(names, x.Name)
		}
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown connector",
			Detail:   fmt.Sprintf("%s has no connector %q; it has: %s.", cfg.Filename, name, strings.Join(names, ", ")),
		}}
	}
	proc, _, diags := startConnector(ctx, cfg, c, opts)
	return proc, diags
}

// deltaDiagnostic says why s, whose connector c describes itself as desc, cannot have
// its delta_schedule: the connector cannot read deltas. Nil if it can, or s has none.
func deltaDiagnostic(s *config.Sync, c *config.Connector, desc connector.Description) *hcl.Diagnostic {
	if s.DeltaSchedule == "" || desc.Capabilities.Delta {
		return nil
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Connector cannot read deltas",
		Detail: fmt.Sprintf("Sync %q has a delta_schedule, but its connector %q (%s) cannot read deltas: it reads everything every time. Remove delta_schedule; schedule sets how often it runs.",
			s.Name, c.Name, desc.Name),
		Subject: s.RangeOf("delta_schedule").Ptr(),
	}
}

// Validate checks everything cfg refers to beyond its syntax: each connector starts and
// accepts its config block, each mapping module loads with the right ABI and settings.
// Connectors without a plugin and mappings without a module file (problems config.Load
// already reports) are passed over.
func Validate(ctx context.Context, cfg *config.Config, opts Options) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if cfg == nil {
		return nil
	}
	described := map[string]connector.Description{}
	for _, c := range cfg.Connectors {
		if _, err := os.Stat(c.Plugin); c.Plugin == "" || (c.External && err != nil) {
			continue
		}
		proc, desc, d := startConnector(ctx, cfg, c, opts)
		diags = append(diags, d...)
		if proc != nil {
			described[c.Name] = desc
			proc.Kill()
		}
	}
	for _, s := range cfg.Syncs {
		if desc, ok := described[s.Connector]; ok {
			if d := deltaDiagnostic(s, cfg.Connector(s.Connector), desc); d != nil {
				diags = append(diags, d)
			}
		}
	}
	for _, m := range cfg.Mappings {
		if _, err := os.Stat(m.Module); m.Module == "" || err != nil {
			continue
		}
		mod, mp, d := openMapping(ctx, m, opts)
		diags = append(diags, d...)
		if mp != nil {
			_ = mp.Close(ctx)
		}
		if mod != nil {
			_ = mod.Close(ctx)
		}
	}
	return diags
}

// startConnector starts c's subprocess and configures it from its config block; it
// returns the process and what the connector says about itself.
func startConnector(ctx context.Context, cfg *config.Config, c *config.Connector, opts Options) (*connhost.Process, connector.Description, hcl.Diagnostics) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if d := unknownBundled(c, opts); d != nil {
		return nil, connector.Description{}, hcl.Diagnostics{d}
	}
	spec := connhost.Spec{Name: c.Name, Plugin: c.Plugin, SHA256: c.SHA256}
	if c.External {
		spec.Plugin, spec.Path = "", c.Plugin
	}
	proc, err := connhost.Start(ctx, spec, connhost.Options{
		Executable: opts.Executable,
		Dir:        cfg.Dir,
		Logger:     logger,
	})
	if err != nil {
		return nil, connector.Description{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Connector does not start",
			Detail:   fmt.Sprintf("connector %q: %v", c.Name, err),
			Subject:  c.RangeOf("plugin").Ptr(),
		}}
	}
	desc, err := proc.Describe(ctx)
	if err != nil {
		proc.Kill()
		return nil, connector.Description{}, hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Connector does not answer",
			Detail: fmt.Sprintf("connector %q: describe: %v", c.Name, err), Subject: c.RangeOf("plugin").Ptr(),
		}}
	}
	raw, diags := c.DecodeConfig(desc.Schema)
	if diags.HasErrors() {
		proc.Kill()
		return nil, connector.Description{}, diags
	}
	cdiags, err := proc.Configure(ctx, raw)
	if err != nil {
		proc.Kill()
		return nil, connector.Description{}, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Connector configuration failed",
			Detail: cfg.Redact(fmt.Sprintf("connector %q: %v", c.Name, err)), Subject: c.DeclRange.Ptr(),
		})
	}
	diags = append(diags, c.Diagnostics(cdiags)...)
	if diags.HasErrors() {
		proc.Kill()
		return nil, connector.Description{}, diags
	}
	return proc, desc, diags
}

// unknownBundled says that c names a bundled connector this binary does not have, with
// the names it has and the nearest one, rather than go-plugin's account of a process
// that did not answer its handshake. Only this binary's own connectors are known: with
// Options.Executable set (tests), whatever it serves is.
func unknownBundled(c *config.Connector, opts Options) *hcl.Diagnostic {
	if c.External || opts.Executable != "" {
		return nil
	}
	if _, ok := plugins.Bundled[c.Plugin]; ok {
		return nil
	}
	names := plugins.Names()
	hint := ""
	if best := config.Nearest(c.Plugin, names, 2); best != "" {
		hint = fmt.Sprintf(" Did you mean %q?", best)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unknown connector plugin",
		Detail: fmt.Sprintf("No bundled connector %q; the bundled connectors are %s.%s An external connector is given by the path of its binary, such as \"./bin/my-connector\".",
			c.Plugin, strings.Join(names, ", "), hint),
		Subject: c.RangeOf("plugin").Ptr(),
	}
}

// lazyMapping is a mapping whose module compiles and instantiates (tens of
// milliseconds of CPU even from the compilation cache) only once a record needs mapping:
// its identity, all a run needs to skip unchanged records, comes from the module's bytes
// and the settings, so a run over an unchanged directory never loads it. A module that
// fails to load fails the run at its first Map, through Ready. (A module and settings
// that load fine once keep their identity; any change to either changes it and makes the
// next run map every record, so a broken module cannot hide behind a run that maps
// nothing.)
type lazyMapping struct {
	identity []byte
	start    sync.Once
	load     func()        // starts loading the module; run once, by start
	done     chan struct{} // closed once loaded, or failed
	module   *mapper.Module
	mapper   *mapper.Mapper
	err      error
}

// startMapping starts loading m's module and returns at once, unless the module cannot
// even be read.
func newLazyMapping(ctx context.Context, m *config.Mapping, opts Options) (*lazyMapping, hcl.Diagnostics) {
	id, err := mapper.Identity(m.Module, m.SettingsJSON, mappingOptions(m, opts))
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Mapping module does not load",
			Detail: fmt.Sprintf("mapping %q: %v", m.Name, err), Subject: m.RangeOf("module").Ptr(),
		}}
	}
	a := &lazyMapping{identity: id, done: make(chan struct{})}
	a.load = func() {
		go func() {
			defer close(a.done)
			var diags hcl.Diagnostics
			a.module, a.mapper, diags = openMapping(context.WithoutCancel(ctx), m, opts)
			switch {
			case diags.HasErrors():
				a.err = diags
			case !bytes.Equal(a.mapper.Identity(), a.identity):
				// The file changed since the run took its identity: mapping with it
				// would salt profiles with the wrong identity.
				a.err = fmt.Errorf("mapping %q: %s changed while the sync was starting; run it again", m.Name, m.Module)
			}
		}()
	}
	return a, nil
}

// Identity is the mapping's identity (mapper.Mapper.Identity).
func (a *lazyMapping) Identity() []byte { return a.identity }

// Ready loads the module if nobody has asked for it yet, waits until it has loaded and
// returns why it did not, if it did not.
func (a *lazyMapping) Ready(ctx context.Context) error {
	a.start.Do(a.load)
	select {
	case <-a.done:
		return a.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// MapInputs maps records once the module has loaded; if it did not, every result
// carries why.
func (a *lazyMapping) MapInputs(ctx context.Context, records []mapper.Input) []mapper.Result {
	if err := a.Ready(ctx); err != nil {
		out := make([]mapper.Result, len(records))
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	return a.mapper.MapInputs(ctx, records)
}

// close frees the module, waiting for it if it is loading.
func (a *lazyMapping) close(ctx context.Context) {
	loading := true
	a.start.Do(func() { loading = false }) // never asked for: nothing to wait for
	if !loading {
		return
	}
	<-a.done
	if a.mapper != nil {
		_ = a.mapper.Close(ctx)
	}
	if a.module != nil {
		_ = a.module.Close(ctx)
	}
}

// mappingOptions are the mapper options for m.
func mappingOptions(m *config.Mapping, opts Options) mapper.Options {
	mopts := opts.Mapper
	if m.CallTimeout > 0 {
		mopts.CallTimeout = m.CallTimeout
	}
	return mopts
}

// openMapping compiles m's module and instantiates it with m's settings.
func openMapping(ctx context.Context, m *config.Mapping, opts Options) (*mapper.Module, *mapper.Mapper, hcl.Diagnostics) {
	mod, err := mapper.Compile(ctx, m.Module, mappingOptions(m, opts))
	if err != nil {
		return nil, nil, hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Mapping module does not load",
			Detail: fmt.Sprintf("mapping %q: %v", m.Name, err), Subject: m.RangeOf("module").Ptr(),
		}}
	}
	mp, err := mod.NewMapper(ctx, m.SettingsJSON)
	if err != nil {
		_ = mod.Close(ctx)
		subject := m.RangeOf("settings")
		if key, ok := m.SettingIn(err.Error()); ok {
			subject = m.SettingRange(key) // the setting the module names, not the whole object
		}
		return nil, nil, hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Mapping rejects its settings",
			// The module may quote its settings, which may hold values from env().
			Detail: m.Redact(fmt.Sprintf("mapping %q: %v", m.Name, err)), Subject: subject.Ptr(),
		}}
	}
	return mod, mp, nil
}
