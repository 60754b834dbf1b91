package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/internal/connectorpb"
	"github.com/peoplesync/peoplesync/sdk/internal/recordwire"
)

// maxRecvBytes bounds one Read message on the engine's side. Batches stay near 1 MiB, but
// a single record with a large photo can exceed gRPC's 4 MiB default.
const maxRecvBytes = 64 << 20

// grpcClient is a Connector that calls a plugin process, on the engine's side.
type grpcClient struct {
	client connectorpb.ConnectorClient
}

var (
	_ connector.Connector = (*grpcClient)(nil)
	_ RawReader           = (*grpcClient)(nil)
)

func (c *grpcClient) Describe(ctx context.Context) (connector.Description, error) {
	resp, err := c.client.Describe(ctx, &connectorpb.DescribeRequest{})
	if err != nil {
		return connector.Description{}, fromStatus(ctx, err)
	}
	return fromPBDescription(resp), nil
}

func (c *grpcClient) Configure(ctx context.Context, config json.RawMessage) (connector.Diagnostics, error) {
	resp, err := c.client.Configure(ctx, &connectorpb.ConfigureRequest{ConfigJson: config})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return fromPBDiagnostics(resp.GetDiagnostics()), nil
}

func (c *grpcClient) Check(ctx context.Context) error {
	if _, err := c.client.Check(ctx, &connectorpb.CheckRequest{}); err != nil {
		return fromStatus(ctx, err)
	}
	return nil
}

// Read emits the streamed records in order. It succeeds only when the stream closes with
// End and End's count matches what arrived; anything else wraps ErrIncompleteRead, except
// an error from emit (returned as is) and the cancellation of ctx (wrapping ctx's error).
// Returning cancels the stream, which cancels the Read inside the plugin process.
func (c *grpcClient) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	var dec recordwire.Decoder
	return c.stream(ctx, req, func(data []byte, n *int64) error {
		count, err := dec.Reset(data)
		if err != nil {
			return corruptBatchError(err, *n)
		}
		for range count {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("read stopped after %d records: %w", *n, err)
			}
			r, err := dec.Next()
			if err != nil {
				return corruptBatchError(err, *n)
			}
			if err := emit(fromWire(&r)); err != nil {
				return err
			}
			*n++
		}
		return nil
	})
}

// ReadRaw is Read handing over each batch checked but undecoded (see RawBatch), with the
// same guarantees.
func (c *grpcClient) ReadRaw(ctx context.Context, req connector.ReadRequest, fn func(*RawBatch) error) (connector.ReadResult, error) {
	interned := make(map[string]string)
	return c.stream(ctx, req, func(data []byte, n *int64) error {
		parsed, err := recordwire.Parse(data, interned)
		if err != nil {
			return corruptBatchError(err, *n)
		}
		b := &RawBatch{b: parsed}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read stopped after %d records: %w", *n, err)
		}
		if err := fn(b); err != nil {
			return err
		}
		*n += int64(b.Len())
		return nil
	})
}

// stream runs a Read stream, passing each batch's bytes to batch with the count of
// records so far (which batch advances), and checks the stream's end.
func (c *grpcClient) stream(ctx context.Context, req connector.ReadRequest, batch func(data []byte, n *int64) error) (connector.ReadResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.client.Read(ctx, toPBReadRequest(req), grpc.MaxCallRecvMsgSize(maxRecvBytes))
	if err != nil {
		return connector.ReadResult{}, readError(ctx, err, 0)
	}
	var n int64
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return connector.ReadResult{}, fmt.Errorf("%w (after %d records)", ErrIncompleteRead, n)
		}
		if err != nil {
			return connector.ReadResult{}, readError(ctx, err, n)
		}
		switch m := msg.GetMsg().(type) {
		case *connectorpb.ReadResponse_Batch:
			if err := batch(m.Batch.GetRecords(), &n); err != nil {
				return connector.ReadResult{}, err
			}
		case *connectorpb.ReadResponse_End:
			if got := m.End.GetCount(); got != n {
				return connector.ReadResult{}, fmt.Errorf("%w: the connector reported %d records but sent %d", ErrIncompleteRead, got, n)
			}
			return connector.ReadResult{Count: n, Cursor: m.End.GetCursor()}, nil
		default:
			return connector.ReadResult{}, fmt.Errorf("%w: unexpected message %T in the read stream", ErrIncompleteRead, m)
		}
	}
}

// readError describes a failed Read stream; every such read is incomplete.
func readError(ctx context.Context, err error, n int64) error {
	if ctx.Err() != nil {
		return fmt.Errorf("read stopped after %d records: %w", n, ctx.Err())
	}
	err = fromStatus(ctx, err)
	return &remoteError{
		msg:   fmt.Sprintf("%s: %s", incompleteAfter(n), err),
		wraps: []error{ErrIncompleteRead, err},
	}
}

// corruptBatchError describes a read stopped by a batch that does not decode.
func corruptBatchError(err error, n int64) error {
	return &remoteError{
		msg:   fmt.Sprintf("%s: %s", incompleteAfter(n), err),
		wraps: []error{ErrIncompleteRead, err},
	}
}

// incompleteAfter begins the message of a read that failed after n records arrived.
// With none, it gives no count: "after 0 records" read as "nothing in my file could be
// read" when the connector had read much of it and sent nothing (the file connector
// checks a whole file before it sends a record, and says how far it got).
func incompleteAfter(n int64) string {
	if n == 0 {
		return "incomplete read"
	}
	return fmt.Sprintf("incomplete read after %d records", n)
}

// fromStatus turns a gRPC status back into a readable error: the connector's own message
// (not "rpc error: code = ... desc = ..."), with the identity of the sentinels the server
// encoded and of ctx's cancellation.
func fromStatus(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("connector call stopped: %w", ctxErr)
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	e := &remoteError{msg: st.Message()}
	switch st.Code() {
	case codes.FailedPrecondition:
		e.wraps = []error{connector.ErrNotConfigured}
	case codes.Canceled:
		e.wraps = []error{context.Canceled}
	case codes.DeadlineExceeded:
		e.wraps = []error{context.DeadlineExceeded}
	case codes.Unavailable:
		e.msg = "connector plugin unavailable (has its process exited?): " + e.msg
	case codes.Unimplemented:
		e.msg = "connector plugin does not implement this call (built against another protocol version?): " + e.msg
	}
	return e
}

// remoteError is an error that crossed the process boundary: its message as the
// connector wrote it, and the sentinels it still matches with errors.Is.
type remoteError struct {
	msg   string
	wraps []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.wraps }

// GRPCServer serves the plugin set's connector (for tests that run both sides in one
// process).
func (p *grpcPlugin) GRPCServer(b *plugin.GRPCBroker, s *grpc.Server) error {
	return p.server.GRPCServer(b, s)
}

// GRPCClient returns a Connector that calls the plugin process over conn.
func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &grpcClient{client: connectorpb.NewConnectorClient(conn)}, nil
}
