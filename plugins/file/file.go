// Package file is the connector for HR and directory exports on disk: LDIF, CSV (with a
// header row) and JSON Lines. It streams the file, one record at a time, so an export
// of any size reads in constant memory, apart from 16 bytes a person for the IDs.
//
// Its options (path, format, id_attribute, dn_attribute, multi_value_separator,
// binary_attributes) are described in its schema (see Describe) and, with a CSV and a
// JSON Lines example that a test runs, in the README's "Connectors" section.
//
// A read tells two kinds of problem apart:
//
//   - A problem with one record (no ID, an empty or multi-valued ID, an ID that appears
//     twice, invalid base64, text that is not UTF-8 or holds a NUL byte, a JSON Lines
//     line that is not a flat JSON object, a CSV row with a quote error or the wrong
//     number of fields, a malformed line or a change record in an LDIF entry) makes
//     that record an Invalid record, whose Problem names the file and line, and the read
//     goes on: one bad row does not stop everyone else's sync, and is never skipped,
//     which would look like a person who left. The Invalid record keeps the record's ID
//     when it can be read reliably, so that the engine protects that person's profile;
//     when it cannot (the record has none, or a syntax error blurs where records begin
//     and end), it has no ID, and the engine deletes nobody in that run.
//   - A problem with the file as a whole fails the read with a *LineError: a file that
//     cannot be read, a bad CSV header, an unsupported LDIF version, a line over 64 MiB,
//     and a file that looks cut off (its last line has no line break, or a CSV quote is
//     still open at its end). The engine concludes nothing from a failed read.
//
// An ID that appears twice makes both records Invalid: neither is applied, because
// nobody can tell which one is the person. To know that before the first of them is
// emitted, a read makes two passes: the first reads only the IDs (and checks the file
// as a whole, so a failed read emits nothing), the second emits. One rule holds for the
// text of every format: valid UTF-8 without NUL, or the record is Invalid, never a
// value silently changed or dropped; binary attributes are bytes and exempt.
package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Connector reads one export file. Its zero value is not usable; call New.
type Connector struct {
	mu  sync.Mutex
	cfg *config
}

var _ connector.Connector = (*Connector)(nil)

// New returns an unconfigured file connector.
func New() connector.Connector { return &Connector{} }

// Describe names the connector and its config schema. It has no delta reads: an export
// is a snapshot.
func (c *Connector) Describe(context.Context) (connector.Description, error) {
	return connector.Description{Name: "file", Schema: schema}, nil
}

// Configure validates the config block. A config with errors leaves the connector as it
// was.
func (c *Connector) Configure(_ context.Context, raw json.RawMessage) (connector.Diagnostics, error) {
	cfg, diags := parseConfig(raw)
	if cfg != nil {
		c.mu.Lock()
		c.cfg = cfg
		c.mu.Unlock()
	}
	return diags, nil
}

func (c *Connector) config() (*config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg == nil {
		return nil, fmt.Errorf("file connector: %w", connector.ErrNotConfigured)
	}
	return c.cfg, nil
}

// Check verifies that the file exists, is a regular file and can be opened for reading.
func (c *Connector) Check(context.Context) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	f, err := open(cfg.path)
	if err != nil {
		return err
	}
	return f.Close()
}

func open(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("file connector: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("file connector: %w", err)
	}
	if st.IsDir() {
		_ = f.Close()
		return nil, fmt.Errorf("file connector: %s is a directory, not an export file", path)
	}
	return f, nil
}

// Read streams every record of the file to emit, in two passes over the file: the first
// finds every record's ID and checks the file as a whole, the second emits. A record
// that cannot be read, and both records of an ID that appears twice, are emitted as
// Invalid records and the read goes on; a file problem (see LineError) fails the read
// before anything is emitted, as does a file that changed between the passes.
//
// The second pass holds each record back until the next one is read, so that the last
// record is emitted only once the file is known to end where the first pass saw it end.
//
// A path that is not a regular file (a named pipe) can be read only once: its one pass
// emits the same way, but of two records with one ID only the second is Invalid.
func (c *Connector) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	cfg, err := c.config()
	if err != nil {
		return connector.ReadResult{}, err
	}
	if req.Mode != connector.Full {
		return connector.ReadResult{}, errors.New("file connector: an export has no delta reads; use full reads")
	}
	if err := ctx.Err(); err != nil {
		return connector.ReadResult{}, err
	}
	f, err := open(cfg.path)
	if err != nil {
		return connector.ReadResult{}, err
	}
	defer func() { _ = f.Close() }()
	before, err := f.Stat()
	if err != nil {
		return connector.ReadResult{}, fmt.Errorf("file connector: %w", err)
	}

	done := ctx.Done()
	cancelled := func() error {
		select {
		case <-done:
			return ctx.Err()
		default:
			return nil
		}
	}
	ids := newIDTable()
	if !before.Mode().IsRegular() {
		// A pipe or a device can be read only once: one pass, in which the second
		// record of a repeated ID is Invalid but the first was emitted before it.
		once := newBuilder(cfg, ids, false, nil)
		once.once = true
		return emitBehind(cfg, f, once, cancelled, emit)
	}

	// The first pass: IDs only.
	first := newBuilder(cfg, ids, true, nil)
	first.onEnd = cancelled
	if err := readFormat(cfg.format, f, first); err != nil {
		if first.count > 0 && cancelled() == nil {
			// Nothing was sent, but the file was read up to here: "incomplete read"
			// alone reads as if nothing of it could be.
			return connector.ReadResult{}, fmt.Errorf("%w (%d records before it were read; a read that fails sends none)", err, first.count)
		}
		return connector.ReadResult{}, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return connector.ReadResult{}, fmt.Errorf("file connector: %w", err)
	}

	// The second pass: emit, one record behind.
	second := newBuilder(cfg, ids, false, nil)
	res, err := emitBehind(cfg, f, second, cancelled, emit, func() error {
		after, err := f.Stat()
		if err != nil {
			return fmt.Errorf("file connector: %w", err)
		}
		if second.count != first.count || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
			return fmt.Errorf("reading %s: %w (read it again)", cfg.path, errChanged)
		}
		return nil
	})
	return res, err
}

// emitBehind reads the file with b and emits its records one record behind: each is
// emitted once the next one is read, and the last once the file has ended cleanly and
// every check passed, so that a file cut off in its last record emits nothing of it.
func emitBehind(cfg *config, r io.Reader, b *builder, cancelled func() error, emit connector.EmitFunc, checks ...func() error) (connector.ReadResult, error) {
	var (
		count   int64
		pending connector.Record
		held    bool
	)
	flush := func() error {
		if !held {
			return nil
		}
		if err := cancelled(); err != nil {
			return err
		}
		held = false
		if err := emit(pending); err != nil {
			return err
		}
		count++
		return nil
	}
	b.out = func(rec connector.Record) error {
		if err := flush(); err != nil {
			return err
		}
		pending, held = rec, true
		return nil
	}
	if err := readFormat(cfg.format, r, b); err != nil {
		return connector.ReadResult{}, err
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return connector.ReadResult{}, err
		}
	}
	if err := flush(); err != nil {
		return connector.ReadResult{}, err
	}
	return connector.ReadResult{Count: count}, nil
}

func readFormat(format string, r io.Reader, b *builder) error {
	switch format {
	case formatLDIF:
		return readLDIF(r, b)
	case formatCSV:
		return readCSV(r, b)
	case formatJSONL:
		return readJSONL(r, b)
	}
	return fmt.Errorf("file connector: unknown format %q", format)
}
