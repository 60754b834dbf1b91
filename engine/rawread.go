package engine

import (
	"context"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/protocol"
)

// rawBatchRecords is how many records of an in-process connector make one batch: about
// what the plugin protocol puts in one.
const rawBatchRecords = 500

// rawReader gives an in-process connector (a test's, or a wrapper) the one record path
// the engine has: every connector served as a plugin arrives in raw batches, so the
// records of one that is not are encoded into batches of their own.
type rawReader struct {
	connector.Connector
}

// readerOf returns c as a RawReader: itself if it is one.
func readerOf(c connector.Connector) protocol.RawReader {
	if rr, ok := c.(protocol.RawReader); ok {
		return rr
	}
	return rawReader{c}
}

// ReadRaw reads every record and hands them on in batches.
func (r rawReader) ReadRaw(ctx context.Context, req connector.ReadRequest, fn func(*protocol.RawBatch) error) (connector.ReadResult, error) {
	batch := make([]connector.Record, 0, rawBatchRecords)
	flush := func() error {
		b, err := protocol.NewRawBatch(batch)
		if err != nil {
			return err
		}
		batch = batch[:0]
		return fn(b)
	}
	end, err := r.Read(ctx, req, func(rec connector.Record) error {
		batch = append(batch, rec)
		if len(batch) < rawBatchRecords {
			return nil
		}
		return flush()
	})
	if err != nil {
		return end, err
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return connector.ReadResult{}, err
		}
	}
	return end, nil
}
