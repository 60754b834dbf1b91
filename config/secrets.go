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
	"unicode"
	"unicode/utf8"

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
// of which are caught. A secret shorter than 16 characters is replaced only where it
// stands as a whole token (findSecret), so that a password "x" leaves the x of
// "example.com" alone.

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

// redact replaces every secret of the set in text by its label, in one pass over the
// text as it was: a label put in is never searched again (a secret "value" does not
// rewrite "(the value of bind_password)"), and where secrets overlap the longer wins.
func (s *secretSet) redact(text string) string {
	if s == nil {
		return text
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []secretSpan
	for _, x := range s.list { // longest first
		for _, m := range findSecret(text, x) {
			if !slices.ContainsFunc(keep, m.overlaps) {
				keep = append(keep, m)
			}
		}
	}
	if len(keep) == 0 {
		return text
	}
	slices.SortFunc(keep, func(a, b secretSpan) int { return cmp.Compare(a.start, b.start) })
	var b strings.Builder
	at := 0
	for _, m := range keep {
		b.WriteString(text[at:m.start])
		b.WriteString(m.label)
		at = m.end
	}
	b.WriteString(text[at:])
	return b.String()
}

// secretSpan is where a secret stands in a text: text[start:end] is replaced by label.
type secretSpan struct {
	start, end int
	label      string
}

func (m secretSpan) overlaps(o secretSpan) bool { return m.start < o.end && o.start < m.end }

// minSecretMatch is how long a secret must be to be found anywhere in a message, and
// how many of its leading characters identify it in a message that cut it short.
// Shorter secrets are found only as a whole token (wholeToken): a password "x" must not
// turn "corp.example.com" into "corp.e(the value of bind_password)ample.com", and such a
// password standing inside a longer word does not give it away.
const minSecretMatch = 16

// findSecret returns where sec appears in text, in the raw and in the Go-quoted
// (escaped) form, each with the quotes around it. A secret of minSecretMatch characters
// or more is found anywhere, whole or cut short after at least minSecretMatch
// characters (with the "…" that says so); a shorter one only whole, as a whole token.
func findSecret(text string, sec secret) []secretSpan {
	forms := []string{sec.value}
	if q := strconv.Quote(sec.value); q[1:len(q)-1] != sec.value {
		forms = append(forms, q[1:len(q)-1])
	}
	var out []secretSpan
	for _, form := range forms {
		long := len(form) >= minSecretMatch
		head := form[:min(len(form), minSecretMatch)]
		for from := 0; from < len(text); {
			i := strings.Index(text[from:], head)
			if i < 0 {
				break
			}
			start := from + i
			n := len(head)
			for long && n < len(form) && start+n < len(text) && text[start+n] == form[n] {
				n++
			}
			end := start + n
			if !long && !wholeToken(text, start, end) {
				from = start + 1
				continue
			}
			if n < len(form) && strings.HasPrefix(text[end:], "…") {
				end += len("…") // cut short, and says so
			}
			if start > 0 && text[start-1] == '"' && end < len(text) && text[end] == '"' {
				start, end = start-1, end+1
			}
			out = append(out, secretSpan{start: start, end: end, label: sec.label})
			from = end
		}
	}
	return out
}

// wholeToken reports whether text[start:end] stands on its own: neither neighbour
// continues it as part of a word, a name or an address (a letter, a digit or "_", or a
// "." or "-" between such characters, as in a host name or a DN's value). Quotes,
// spaces, "=", ":", "@", "/", "," and the end of a sentence are boundaries, so that
// password=x, "x", user:x@host and "is x." are all found.
func wholeToken(text string, start, end int) bool {
	word := func(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
	if start > 0 {
		r, n := utf8.DecodeLastRuneInString(text[:start])
		if word(r) {
			return false
		}
		if r == '.' || r == '-' {
			if q, _ := utf8.DecodeLastRuneInString(text[:start-n]); start-n > 0 && word(q) {
				return false
			}
		}
	}
	if end < len(text) {
		r, n := utf8.DecodeRuneInString(text[end:])
		if word(r) {
			return false
		}
		if r == '.' || r == '-' {
			if q, _ := utf8.DecodeRuneInString(text[end+n:]); end+n < len(text) && word(q) {
				return false
			}
		}
	}
	return true
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
