package connector

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/peoplesync/peoplesync/sdk/internal/connectorpb"
	"github.com/peoplesync/peoplesync/sdk/internal/recordwire"
)

// Batching of the Read stream: one gRPC message per record costs more than the record
// itself, so the server sends up to maxBatchRecords records, or about maxBatchBytes (a
// batch closes once it reaches them), per message.
const (
	maxBatchRecords = 500
	maxBatchBytes   = recordwire.MaxBatchBytes
)

// grpcServer serves a Connector over the connector protocol, in the plugin process.
type grpcServer struct {
	connectorpb.UnimplementedConnectorServer
	impl Connector
}

func (s *grpcServer) Describe(ctx context.Context, _ *connectorpb.DescribeRequest) (*connectorpb.DescribeResponse, error) {
	d, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return toPBDescription(d), nil
}

func (s *grpcServer) Configure(ctx context.Context, req *connectorpb.ConfigureRequest) (*connectorpb.ConfigureResponse, error) {
	diags, err := s.impl.Configure(ctx, req.GetConfigJson())
	if err != nil {
		return nil, toStatus(err)
	}
	return &connectorpb.ConfigureResponse{Diagnostics: toPBDiagnostics(diags)}, nil
}

func (s *grpcServer) Check(ctx context.Context, _ *connectorpb.CheckRequest) (*connectorpb.CheckResponse, error) {
	if err := s.impl.Check(ctx); err != nil {
		return nil, toStatus(err)
	}
	return &connectorpb.CheckResponse{}, nil
}

// Read streams the connector's records in batches and closes a complete read with End.
// When the connector fails, the stream ends with its error and without End.
func (s *grpcServer) Read(req *connectorpb.ReadRequest, stream connectorpb.Connector_ReadServer) error {
	b := &batcher{stream: stream}
	var res ReadResult
	var err error
	if wr, ok := s.impl.(WriterReader); ok {
		res, err = wr.ReadTo(stream.Context(), fromPBReadRequest(req), &RecordWriter{b: b})
	} else {
		res, err = s.impl.Read(stream.Context(), fromPBReadRequest(req), b.emit)
	}
	if err != nil {
		return toStatus(err)
	}
	if err := b.flush(); err != nil {
		return err
	}
	return stream.Send(&connectorpb.ReadResponse{Msg: &connectorpb.ReadResponse_End{
		End: &connectorpb.End{Count: res.Count, Cursor: res.Cursor},
	}})
}

// batcher collects emitted records into encoded RecordBatch messages.
type batcher struct {
	stream connectorpb.Connector_ReadServer
	enc    recordwire.Encoder
}

func (b *batcher) emit(r Record) error {
	b.enc.Add(&recordwire.Record{ID: r.ID, DN: r.DN, Kind: uint8(r.Kind), Problem: r.Problem, Attributes: r.Attributes, Binary: r.Binary})
	return b.sendIfFull()
}

// sendIfFull sends the batch once it holds enough.
func (b *batcher) sendIfFull() error {
	if b.enc.Len() >= maxBatchRecords || b.enc.Size() >= maxBatchBytes {
		return b.flush()
	}
	return nil
}

// flush sends the pending records. A sent message is never modified again (gRPC may
// encode it lazily), so each batch is encoded into a fresh slice.
func (b *batcher) flush() error {
	if b.enc.Len() == 0 {
		return nil
	}
	msg := &connectorpb.ReadResponse{Msg: &connectorpb.ReadResponse_Batch{
		Batch: &connectorpb.RecordBatch{Records: b.enc.Finish()},
	}}
	if err := b.stream.Send(msg); err != nil {
		return fmt.Errorf("sending records: %w", err)
	}
	return nil
}

// toStatus turns a connector's error into a gRPC status that keeps its message and, for
// the sentinels the client restores, its identity.
func toStatus(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Unknown
	switch {
	case errors.Is(err, ErrNotConfigured):
		code = codes.FailedPrecondition
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}
