package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Settings are the mapping's settings from the sync's HCL, decoded once when the host
// configures the module. Lookups of missing keys return the caller's default; a nil
// *Settings has no settings.
type Settings struct {
	raw    []byte
	values map[string]json.RawMessage
	// scalars holds the text of every scalar setting, decoded once so that a mapping can
	// read settings per record without allocating.
	scalars map[string]string
	// read, while WithSettings's parse runs, collects the keys it looks up: the keys the
	// module knows (see CheckKnown). Outside parse it is nil and lookups cost nothing more.
	read map[string]bool
}

// note records that the module looked key up, while WithSettings's parse runs.
func (s *Settings) note(key string) {
	if s != nil && s.read != nil {
		s.read[key] = true
	}
}

// ParseSettings decodes settings given as a JSON object. Empty input and null are no
// settings.
func ParseSettings(data []byte) (*Settings, error) {
	s := &Settings{
		raw:     append([]byte(nil), data...),
		values:  map[string]json.RawMessage{},
		scalars: map[string]string{},
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		s.raw = []byte("{}")
		return s, nil
	}
	if err := json.Unmarshal(trimmed, &s.values); err != nil {
		return nil, fmt.Errorf("settings are not a JSON object: %w", err)
	}
	for k, raw := range s.values {
		if v, ok := scalar(raw); ok {
			s.scalars[k] = v
		}
	}
	return s, nil
}

// Has reports whether the setting key is present and not null.
func (s *Settings) Has(key string) bool {
	if s == nil {
		return false
	}
	s.note(key)
	v, ok := s.values[key]
	return ok && string(v) != "null"
}

// Keys returns the names of all settings, in no particular order.
func (s *Settings) Keys() []string {
	if s == nil {
		return nil
	}
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		s.note(k) // a module that walks every key knows them all
		keys = append(keys, k)
	}
	return keys
}

// String returns the setting key as a string: a JSON string as is, a number or a bool as
// written. It returns def if the setting is missing, null, or an array or object.
func (s *Settings) String(key, def string) string {
	v, ok := s.scalar(key)
	if !ok {
		return def
	}
	return v
}

// Bool returns the setting key as a bool: JSON true or false, or a string that
// strconv.ParseBool accepts ("true", "1", …). It returns def otherwise.
func (s *Settings) Bool(key string, def bool) bool {
	v, ok := s.scalar(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def
	}
	return b
}

// Strings returns the setting key as a list of strings (a JSON array of scalars, or a
// single scalar as a list of one), or nil.
func (s *Settings) Strings(key string) []string {
	if s == nil {
		return nil
	}
	s.note(key)
	raw, ok := s.values[key]
	if !ok {
		return nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		if v, ok := scalar(raw); ok {
			return []string{v}
		}
		return nil
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		if v, ok := scalar(item); ok {
			out = append(out, v)
		}
	}
	return out
}

// Map returns the setting key as a map of strings (a JSON object whose values are scalars;
// other values are left out), or nil.
func (s *Settings) Map(key string) map[string]string {
	if s == nil {
		return nil
	}
	s.note(key)
	raw, ok := s.values[key]
	if !ok {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil
	}
	out := make(map[string]string, len(obj))
	for k, item := range obj {
		if v, ok := scalar(item); ok {
			out[k] = v
		}
	}
	return out
}

// Decode unmarshals all settings into v, as encoding/json does. Within WithSettings's
// parse, a setting that v has no field for is an error (json's DisallowUnknownFields).
func (s *Settings) Decode(v any) error {
	if s == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(s.raw))
	if s.read != nil {
		dec.DisallowUnknownFields()
		for k := range s.values {
			s.read[k] = true
		}
	}
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode settings: %w", err)
	}
	return nil
}

// CheckKnown fails for every setting that is not one of known, saying which known one
// it was probably meant to be: a mistyped key ("default_country_cod") would otherwise be
// ignored without a word, and its default used. WithSettings checks this itself, with
// the keys its parse looked up; a module with a ConfigureFunc of its own calls it there.
func (s *Settings) CheckKnown(known ...string) error {
	if s == nil {
		return nil
	}
	var errs []error
	for _, key := range sortedKeys(s.values) {
		if slices.Contains(known, key) {
			continue
		}
		sorted := slices.Sorted(slices.Values(known))
		msg := fmt.Sprintf("unknown setting %q", key)
		if near := nearest(key, sorted); near != "" {
			msg += fmt.Sprintf("; did you mean %q?", near)
		}
		if len(sorted) > 0 {
			msg += " (this module reads " + strings.Join(sorted, ", ") + ")"
		} else {
			msg += " (this module reads no settings)"
		}
		errs = append(errs, errors.New(msg))
	}
	return errors.Join(errs...)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// nearest returns the candidate closest to name by edit distance, if it is close
// enough (at most a third of name's length, and at most 3) to be a likely typo.
func nearest(name string, candidates []string) string {
	best, bestDist := "", min(3, len(name)/3)+1
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (s *Settings) scalar(key string) (string, bool) {
	if s == nil {
		return "", false
	}
	s.note(key)
	v, ok := s.scalars[key]
	return v, ok
}

// scalar returns a JSON string's value, or a number's or bool's text.
func scalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", false
		}
		return v, true
	case 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw), true
	}
	return "", false
}
