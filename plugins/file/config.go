package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// The export formats the connector reads.
const (
	formatLDIF  = "ldif"
	formatCSV   = "csv"
	formatJSONL = "jsonl"
)

var formats = []string{formatLDIF, formatCSV, formatJSONL}

// extensions maps a file extension to the format it implies when format is unset.
var extensions = map[string]string{
	".ldif":   formatLDIF,
	".ldi":    formatLDIF,
	".csv":    formatCSV,
	".jsonl":  formatJSONL,
	".ndjson": formatJSONL,
}

// defaultBinary are the attributes read as bytes unless binary_attributes says
// otherwise; attributes with the ;binary option always are.
var defaultBinary = []string{"jpegPhoto", "thumbnailPhoto", "objectGUID", "objectSid"}

var schema = connector.Schema{Attributes: []connector.AttributeSchema{
	{Name: "path", Type: connector.String, Required: true,
		Description: "The export file to read."},
	{Name: "format", Type: connector.String,
		Description: `"ldif", "csv" or "jsonl"; by default from the file's extension (.ldif, .ldi, .csv, .jsonl, .ndjson).`},
	{Name: "id_attribute", Type: connector.String,
		Description: `The attribute holding each person's stable ID; default "entryUUID" for LDIF, "id" otherwise. A binary ID (objectGUID) becomes lowercase hex.`},
	{Name: "dn_attribute", Type: connector.String,
		Description: "CSV and JSON Lines: the attribute holding the DN (what manager references point at). LDIF entries use their dn: line."},
	{Name: "multi_value_separator", Type: connector.String,
		Description: "CSV only: splits a cell into several values (each trimmed; empty ones dropped). Default: one value per cell."},
	{Name: "binary_attributes", Type: connector.StringList,
		Description: "Attributes read as bytes (base64 in CSV and JSON Lines). Default: jpegPhoto, thumbnailPhoto, objectGUID, objectSid; attributes with the ;binary option always are."},
}}

// config is a validated configuration.
type config struct {
	path      string
	format    string
	idAttr    string
	dnAttr    string
	separator string
	binary    []string // lowercased
}

// parseConfig decodes and validates a config block, reporting every problem as a
// diagnostic on its attribute.
// unreadable says why path cannot be read as an export, or "" if it can: a run could
// not work, so validate says so rather than the first run.
func unreadable(path string) string {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file (a relative path is relative to the config file's directory)"
	case err != nil:
		return err.Error()
	case st.IsDir():
		return "a directory, not an export file"
	case !st.Mode().IsRegular():
		return "" // a named pipe: opening it would take the writer's data
	}
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	_ = f.Close()
	return ""
}

func parseConfig(raw json.RawMessage) (*config, connector.Diagnostics) {
	var diags connector.Diagnostics
	errorf := func(attr, summary, detail string, args ...any) {
		diags = append(diags, connector.Diagnostic{
			Severity: connector.Error, Attribute: attr, Summary: summary, Detail: fmt.Sprintf(detail, args...),
		})
	}
	warnf := func(attr, summary, detail string, args ...any) {
		diags = append(diags, connector.Diagnostic{
			Severity: connector.Warning, Attribute: attr, Summary: summary, Detail: fmt.Sprintf(detail, args...),
		})
	}

	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		errorf("", "Invalid file connector configuration", "The configuration must be an object: %v", err)
		return nil, diags
	}
	mistyped := map[string]bool{}
	str := func(name string) string {
		v, ok := fields[name]
		if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			return ""
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			errorf(name, "Incorrect attribute value type", "%s must be a string.", name)
			mistyped[name] = true
		}
		return s
	}

	cfg := &config{
		path:      str("path"),
		format:    str("format"),
		idAttr:    str("id_attribute"),
		dnAttr:    str("dn_attribute"),
		separator: str("multi_value_separator"),
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.ContainsFunc(schema.Attributes, func(a connector.AttributeSchema) bool { return a.Name == name }) {
			errorf(name, "Unsupported attribute", "The file connector has no attribute %q.", name)
		}
	}

	if cfg.path == "" && !mistyped["path"] {
		errorf("path", "Missing required attribute", "path names the export file to read.")
	} else if cfg.path != "" {
		if problem := unreadable(cfg.path); problem != "" {
			errorf("path", "Export file cannot be read", "%s: %s.", cfg.path, problem)
		}
	}
	switch {
	case cfg.format != "":
		cfg.format = strings.ToLower(cfg.format)
		if !slices.Contains(formats, cfg.format) {
			errorf("format", "Unsupported format", "format is %q; it must be one of %s.", cfg.format, strings.Join(formats, ", "))
		}
	case cfg.path != "":
		ext := strings.ToLower(filepath.Ext(cfg.path))
		if cfg.format = extensions[ext]; cfg.format == "" {
			errorf("format", "Cannot tell the file's format",
				"The extension of %q does not say which format it is; set format to one of %s.", cfg.path, strings.Join(formats, ", "))
		}
	}

	if cfg.idAttr == "" {
		cfg.idAttr = "id"
		if cfg.format == formatLDIF {
			cfg.idAttr = "entryUUID"
		}
	}
	if cfg.dnAttr != "" && cfg.format == formatLDIF {
		warnf("dn_attribute", "Attribute ignored for LDIF", "LDIF entries carry their DN in the dn: line; dn_attribute is ignored.")
		cfg.dnAttr = ""
	}
	if cfg.separator != "" && cfg.format != formatCSV {
		warnf("multi_value_separator", "Attribute ignored", "multi_value_separator applies to CSV only; it is ignored for %s.", cfg.format)
		cfg.separator = ""
	}

	binary := defaultBinary
	if v, ok := fields["binary_attributes"]; ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		binary = nil
		if err := json.Unmarshal(v, &binary); err != nil {
			errorf("binary_attributes", "Incorrect attribute value type", "binary_attributes must be a list of attribute names.")
		}
		for _, b := range binary {
			if strings.TrimSpace(b) == "" {
				errorf("binary_attributes", "Empty attribute name", "binary_attributes lists an empty name.")
			}
		}
	}
	for _, b := range binary {
		cfg.binary = append(cfg.binary, strings.ToLower(b))
	}

	if diags.HasErrors() {
		return nil, diags
	}
	return cfg, diags
}
