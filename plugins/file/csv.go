package file

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// readCSV streams the rows of a CSV export with a header row to emit. Empty cells are
// absent attributes; binary columns hold base64.
func readCSV(r io.Reader, b *builder, emit func(connector.Record) error) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil // an empty file has no people; the engine's guards judge that
	}
	if err != nil {
		return b.csvErr(err)
	}
	names := make([]string, len(header))
	seen := make(map[string]int, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, string(bom))
		}
		h = strings.TrimSpace(h)
		if h == "" {
			return b.lineErr(1, "column %d of the header has no name", i+1)
		}
		if prev, dup := seen[strings.ToLower(h)]; dup {
			return b.lineErr(1, "columns %d and %d are both named %s", prev+1, i+1, h)
		}
		seen[strings.ToLower(h)] = i
		names[i] = h
	}
	sep := b.cfg.separator
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return b.csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		rec := newRecord()
		for i, cell := range row {
			if cell == "" {
				continue
			}
			values := []string{cell}
			if sep != "" {
				values = splitValues(cell, sep)
			}
			for _, v := range values {
				var err error
				if b.isBinary(names[i]) {
					err = b.addBase64(&rec, line, names[i], v)
				} else {
					err = b.addText(&rec, line, names[i], v)
				}
				if err != nil {
					return err
				}
			}
		}
		if err := b.finish(&rec, line); err != nil {
			return err
		}
		if err := emit(rec); err != nil {
			return err
		}
	}
}

// splitValues splits a multi-valued cell, trimming each value and dropping empty ones.
func splitValues(cell, sep string) []string {
	parts := strings.Split(cell, sep)
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// csvErr turns encoding/csv's error into a LineError.
func (b *builder) csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return b.lineErr(pe.Line, "column %d: %w", pe.Column, pe.Err)
	}
	return fmt.Errorf("reading %s: %w", b.cfg.path, err)
}
