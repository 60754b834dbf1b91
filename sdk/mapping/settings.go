package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
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

// Decode unmarshals all settings into v, as encoding/json does.
func (s *Settings) Decode(v any) error {
	if s == nil {
		return nil
	}
	if err := json.Unmarshal(s.raw, v); err != nil {
		return fmt.Errorf("decode settings: %w", err)
	}
	return nil
}

func (s *Settings) scalar(key string) (string, bool) {
	if s == nil {
		return "", false
	}
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
