package config

import (
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics prints diagnostics for a person: each with its position and, when its
// file is in files (Config.Files or Parser.Files), the source lines it points at. Color
// adds terminal colours.
func WriteDiagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, color bool) error {
	if err := hcl.NewDiagnosticTextWriter(w, files, 0, color).WriteDiagnostics(diags); err != nil {
		return fmt.Errorf("write diagnostics: %w", err)
	}
	return nil
}

// FormatDiagnostic renders one diagnostic on one line:
//
//	file:line:col: error: summary: detail
//
// the compact form of logs, CI output and golden tests. Newlines in the detail become
// spaces; a diagnostic without a range starts at its severity.
func FormatDiagnostic(d *hcl.Diagnostic) string {
	var b strings.Builder
	if d.Subject != nil {
		fmt.Fprintf(&b, "%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
	}
	switch d.Severity {
	case hcl.DiagWarning:
		b.WriteString("warning: ")
	default:
		b.WriteString("error: ")
	}
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString(": ")
		b.WriteString(strings.Join(strings.Fields(d.Detail), " "))
	}
	return b.String()
}

// FormatDiagnostics renders diagnostics in the compact form of FormatDiagnostic, one per
// line, each line ending in a newline.
func FormatDiagnostics(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(FormatDiagnostic(d))
		b.WriteByte('\n')
	}
	return b.String()
}
