// Package config loads peoplesync's HCL configuration (sync.hcl) into plain Go values and
// reports every problem a person can make in it as an hcl.Diagnostic with a source range.
//
// The package owns the shape of the file: the store, connector, mapping and sync blocks,
// their defaults, cron and timezone checks, references between blocks, and the env and
// file functions. When several syncs feed one profile, it also owns how they say so (a
// sync's people block, the precedence block) and the checks that such a setup can work;
// Config.Sources hands the result to the store as store.Sources. It does not know any connector's settings: the body of a connector's
// config block is kept undecoded (Connector.Config) and decoded later against the schema
// the connector describes (Connector.DecodeConfig), so that a plugin's own attributes are
// checked by the plugin's schema and still reported against the user's file:
//
//	sync.hcl ──Parse──► Config ─┬─ Store, Mappings, Syncs      (decoded here)
//	                            └─ Connector.Config (hcl.Body) ──DecodeConfig(schema)──► JSON
//	                                                            ◄─Diagnostics(connector diags)
//
// Loading keeps going after the first problem and returns all diagnostics, sorted by
// position. The parsed files stay on Config.Files so that a caller can print source
// snippets with WriteDiagnostics.
package config
