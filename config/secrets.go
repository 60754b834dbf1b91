package config

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/zclconf/go-cty/cty"
)

// A value that env() or file() returned is a secret until proven otherwise: it is where
// passwords and connection URLs come from. Such values carry a cty mark (secretMark),
// which HCL's operators and functions pass on to whatever is computed from them. Where
// this package quotes a value in a diagnostic, a marked one is named by where it came
// from instead: schedule (from env("DATABASE_URL")) is not a valid schedule.
//
// Diagnostics written elsewhere (a connector plugin checking its config block, a
// mapping module rejecting its settings) cannot see marks, so every secret string the
// file evaluated is also kept in a secretSet, and their text is redacted on the way in
// (Connector.Diagnostics, Config.Redact). The plugin stays free to quote its config in
// its own words; the host guarantees that no secret it handed out comes back to the
// user. A plugin could paraphrase a secret (decode it, cut it short of 16 characters) and
// defeat this; our own LDAP connector quotes values whole or cut at 80 characters, both
// of which are caught.

// secretMark marks a value from env() or file(); from is how the file wrote the call.
type secretMark struct{ from string }

// secret is one string to keep out of diagnostics and the text that replaces it.
type secret struct {
	value, label string
}

// secretSet collects the secrets of one file; it is shared by the Config and its
// Connectors, which add the values of their config blocks as they are decoded.
type secretSet struct {
	mu   sync.Mutex
	list []secret
}

func (s *secretSet) add(value, label string) {
	if s == nil || value == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.list {
		if x.value == value {
			return
		}
	}
	s.list = append(s.list, secret{value: value, label: label})
	// Longest first, so that a secret holding another is replaced whole.
	slices.SortStableFunc(s.list, func(a, b secret) int { return cmp.Compare(len(b.value), len(a.value)) })
}

// redact replaces every secret of the set in text by its label.
func (s *secretSet) redact(text string) string {
	if s == nil {
		return text
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.list {
		text = redactOne(text, x)
	}
	return text
}

// minSecretMatch is how many leading characters of a secret identify it in a message
// that cut it short; shorter secrets are matched whole.
const minSecretMatch = 16

// redactOne replaces each appearance of sec in text, in the raw and in the Go-quoted
// (escaped) form, whole or cut short after at least minSecretMatch characters, together
// with the quotes around it, by sec's label.
func redactOne(text string, sec secret) string {
	forms := []string{sec.value}
	if q := strconv.Quote(sec.value); q[1:len(q)-1] != sec.value {
		forms = append(forms, q[1:len(q)-1])
	}
	for _, form := range forms {
		head := form[:min(len(form), minSecretMatch)]
		var b strings.Builder
		rest := text
		for {
			i := strings.Index(rest, head)
			if i < 0 {
				b.WriteString(rest)
				break
			}
			n := len(head)
			for n < len(form) && i+n < len(rest) && rest[i+n] == form[n] {
				n++
			}
			start, end := i, i+n
			if n < len(form) && strings.HasPrefix(rest[end:], "…") {
				end += len("…") // cut short, and says so
			}
			if start > 0 && rest[start-1] == '"' && end < len(rest) && rest[end] == '"' {
				start, end = start-1, end+1
			}
			b.WriteString(rest[:start])
			b.WriteString(sec.label)
			rest = rest[end:]
		}
		text = b.String()
	}
	return text
}

// unmark strips v's marks and tells where a secret in it came from: "" for an unmarked
// value, else the calls it came from, like env("A").
func unmark(v cty.Value) (cty.Value, string) {
	v, marks := v.UnmarkDeep()
	return v, sourceOf(marks)
}

func sourceOf(marks cty.ValueMarks) string {
	var from []string
	for m := range marks {
		if sm, ok := m.(secretMark); ok {
			from = append(from, sm.from)
		}
	}
	slices.Sort(from)
	return strings.Join(from, ", ")
}

// fromLabel is what a diagnostic says instead of a secret value.
func fromLabel(from string) string {
	return fmt.Sprintf("(from %s)", from)
}

// collectSecrets adds every marked string inside v to set.
func collectSecrets(set *secretSet, v cty.Value) {
	_, pvm := v.UnmarkDeepWithPaths()
	for _, pm := range pvm {
		from := sourceOf(pm.Marks)
		if from == "" {
			continue
		}
		x, err := pm.Path.Apply(v)
		if err != nil {
			continue
		}
		addStrings(set, x, fromLabel(from))
	}
}

// addStrings adds every known string inside v (itself, or its elements) to set.
func addStrings(set *secretSet, v cty.Value, label string) {
	v, _ = v.UnmarkDeep()
	if v.IsNull() || !v.IsKnown() {
		return
	}
	switch ty := v.Type(); {
	case ty == cty.String:
		set.add(v.AsString(), label)
	case ty.IsPrimitiveType():
		set.add(v.GoString(), label)
	case v.CanIterateElements():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			addStrings(set, e, label)
		}
	}
}

// Redact replaces in text every value the file took from env() or file() by where it
// came from. Use it on messages that quote configuration values but were written
// without the file's marks: a mapping module rejecting its settings, a plugin's error.
func (c *Config) Redact(text string) string {
	return c.secrets.redact(text)
}

// readLimited reads a file of at most MaxFileSize bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Only a regular file: a FIFO or a device would block or never end.
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes (256 KiB)", path, MaxFileSize)
	}
	return b, nil
}
