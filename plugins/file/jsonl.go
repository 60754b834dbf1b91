package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// readJSONL streams a JSON Lines export, one object per line, to emit. Values are
// strings, numbers, booleans or arrays of those; null is an absent attribute; binary
// attributes hold base64 strings.
func readJSONL(r io.Reader, b *builder, emit func(connector.Record) error) error {
	sc := newScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if n == 1 {
			line = bytes.TrimPrefix(line, bom)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec, err := b.jsonRecord(line, n)
		if err != nil {
			return err
		}
		if err := b.finish(&rec, n); err != nil {
			return err
		}
		if err := emit(rec); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return b.scanErr(err, n)
	}
	return nil
}

func (b *builder) jsonRecord(line []byte, n int) (connector.Record, error) {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return connector.Record{}, b.lineErr(n, "invalid JSON object: %w", err)
	}
	if obj == nil {
		return connector.Record{}, b.lineErr(n, "the line is null, want a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return connector.Record{}, b.lineErr(n, "text after the JSON object (one object per line)")
	}
	rec := newRecord()
	for key, v := range obj {
		name := key
		values, ok := v.([]any)
		if !ok {
			values = []any{v}
		}
		for _, x := range values {
			if err := b.addJSONValue(&rec, n, name, x); err != nil {
				return connector.Record{}, err
			}
		}
	}
	return rec, nil
}

func (b *builder) addJSONValue(r *connector.Record, n int, name string, v any) error {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if b.isBinary(name) {
			return b.addBase64(r, n, name, x)
		}
		s = x
	case json.Number:
		s = x.String()
	case bool:
		s = fmt.Sprint(x)
	default:
		return b.lineErr(n, "attribute %s: nested arrays and objects are not supported, want strings, numbers or booleans", name)
	}
	if b.isBinary(name) {
		return b.lineErr(n, "attribute %s is binary and must hold base64 strings", name)
	}
	return b.addText(r, n, name, s)
}
