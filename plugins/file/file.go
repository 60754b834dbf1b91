// Package file is the connector for HR and directory exports on disk: LDIF, CSV (with a
// header row) and JSON Lines. It streams the file, one record at a time, so an export
// of any size reads in constant memory (apart from the set of IDs seen, which catches
// an export that names a person twice).
//
// Every problem in the export (malformed syntax, a record without its ID, a duplicate ID)
// fails the read with a LineError naming the file and line: a record is never skipped,
// because a skipped record would look like a person who left.
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

// Read streams every record of the file to emit. It fails on the first problem in the
// export, with a *LineError.
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

	var count int64
	done := ctx.Done()
	counted := func(r connector.Record) error {
		select {
		case <-done:
			return ctx.Err()
		default:
		}
		if err := emit(r); err != nil {
			return err
		}
		count++
		return nil
	}
	if err := readFormat(cfg.format, f, newBuilder(cfg), counted); err != nil {
		return connector.ReadResult{}, err
	}
	return connector.ReadResult{Count: count}, nil
}

func readFormat(format string, r io.Reader, b *builder, emit func(connector.Record) error) error {
	switch format {
	case formatLDIF:
		return readLDIF(r, b, emit)
	case formatCSV:
		return readCSV(r, b, emit)
	case formatJSONL:
		return readJSONL(r, b, emit)
	}
	return fmt.Errorf("file connector: unknown format %q", format)
}
