package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/internal/connectorpb"
	"github.com/peoplesync/peoplesync/sdk/internal/recordwire"
)

// serverBatchRecords is the most records package connector's server puts in a batch.
const serverBatchRecords = 500

// funcConnector is a Connector made of functions, for tests of the adapter.
type funcConnector struct {
	read  func(ctx context.Context, emit connector.EmitFunc) (connector.ReadResult, error)
	check func(ctx context.Context) error
}

func (f *funcConnector) Describe(context.Context) (connector.Description, error) {
	return connector.Description{Name: "func"}, nil
}

func (f *funcConnector) Configure(context.Context, json.RawMessage) (connector.Diagnostics, error) {
	return nil, nil
}

func (f *funcConnector) Check(ctx context.Context) error { return f.check(ctx) }

func (f *funcConnector) Read(ctx context.Context, _ connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	return f.read(ctx, emit)
}

// overPlugin serves c through go-plugin's in-process gRPC pair and returns the client.
func overPlugin(t *testing.T, c connector.Connector) (connector.Connector, *grpc.ClientConn) {
	t.Helper()
	// Closing the client shuts the server down through go-plugin's controller.
	client, _ := plugin.TestPluginGRPCConn(t, false, PluginSet(c))
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(connector.Connector), client.Conn
}

// emitN emits n records with a payload of size bytes each.
func emitN(ctx context.Context, emit connector.EmitFunc, n, size int) (connector.ReadResult, error) {
	for i := range n {
		if err := ctx.Err(); err != nil {
			return connector.ReadResult{}, err
		}
		r := connector.Record{ID: fmt.Sprint(i), Attributes: map[string][]string{"cn": {"x"}}}
		if size > 0 {
			r.Binary = map[string][][]byte{"jpegPhoto": {make([]byte, size)}}
		}
		if err := emit(r); err != nil {
			return connector.ReadResult{}, err
		}
	}
	return connector.ReadResult{Count: int64(n)}, nil
}

func TestReadBatches(t *testing.T) {
	tests := []struct {
		name           string
		records, size  int
		maxPerBatch    int
		wantMinBatches int
	}{
		{"small records fill 500", 1234, 0, 500, 3},
		{"large records fill 1 MiB", 10, 300 << 10, 4, 3},
		{"a record over gRPC's default 4 MiB", 2, 5 << 20, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &funcConnector{read: func(ctx context.Context, emit connector.EmitFunc) (connector.ReadResult, error) {
				return emitN(ctx, emit, tt.records, tt.size)
			}}
			conn, cc := overPlugin(t, c)

			// The raw stream shows the batching.
			stream, err := connectorpb.NewConnectorClient(cc).Read(t.Context(), &connectorpb.ReadRequest{},
				grpc.MaxCallRecvMsgSize(maxRecvBytes))
			if err != nil {
				t.Fatal(err)
			}
			batches, total := 0, 0
			for {
				msg, err := stream.Recv()
				if err != nil {
					t.Fatalf("Recv: %v", err)
				}
				if end := msg.GetEnd(); end != nil {
					if end.GetCount() != int64(tt.records) {
						t.Errorf("End.Count = %d, want %d", end.GetCount(), tt.records)
					}
					break
				}
				var dec recordwire.Decoder
				n, err := dec.Reset(msg.GetBatch().GetRecords())
				if err != nil {
					t.Fatalf("decoding a batch: %v", err)
				}
				if n == 0 || n > tt.maxPerBatch {
					t.Errorf("batch of %d records, want 1..%d", n, tt.maxPerBatch)
				}
				batches++
				total += n
			}
			if total != tt.records || batches < tt.wantMinBatches {
				t.Errorf("got %d records in %d batches, want %d in at least %d", total, batches, tt.records, tt.wantMinBatches)
			}

			// And the connector.Connector side emits them all, in order.
			var ids []string
			res, err := conn.Read(t.Context(), connector.ReadRequest{}, func(r connector.Record) error {
				ids = append(ids, r.ID)
				return nil
			})
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if res.Count != int64(tt.records) || len(ids) != tt.records {
				t.Fatalf("Read: Count %d, %d emitted, want %d", res.Count, len(ids), tt.records)
			}
			for i, id := range ids {
				if id != fmt.Sprint(i) {
					t.Fatalf("record %d has ID %s: out of order", i, id)
				}
			}
		})
	}
}

func TestErrorsCrossReadably(t *testing.T) {
	c := &funcConnector{
		read: func(ctx context.Context, emit connector.EmitFunc) (connector.ReadResult, error) {
			if _, err := emitN(ctx, emit, 600, 0); err != nil {
				return connector.ReadResult{}, err
			}
			return connector.ReadResult{}, errors.New("people.ldif:7: entry has no entryUUID")
		},
		check: func(context.Context) error {
			return fmt.Errorf("file: %w", connector.ErrNotConfigured)
		},
	}
	conn, _ := overPlugin(t, c)

	n := 0
	_, err := conn.Read(t.Context(), connector.ReadRequest{}, func(connector.Record) error { n++; return nil })
	if !errors.Is(err, ErrIncompleteRead) {
		t.Errorf("Read error %v does not wrap ErrIncompleteRead", err)
	}
	if err == nil || !strings.Contains(err.Error(), "people.ldif:7: entry has no entryUUID") || strings.Contains(err.Error(), "rpc error") {
		t.Errorf("Read error = %q, want the connector's message without gRPC noise", err)
	}
	if n != 500 {
		t.Errorf("emitted %d records before the error, want the first batch of 500", n)
	}

	err = conn.Check(t.Context())
	if !errors.Is(err, connector.ErrNotConfigured) {
		t.Errorf("Check = %v, want connector.ErrNotConfigured across gRPC", err)
	}
	if err == nil || err.Error() != "file: connector is not configured" {
		t.Errorf("Check message = %q", err)
	}
}

func TestCancelReachesTheServer(t *testing.T) {
	stopped := make(chan error, 1)
	c := &funcConnector{read: func(ctx context.Context, emit connector.EmitFunc) (connector.ReadResult, error) {
		if _, err := emitN(ctx, emit, serverBatchRecords, 0); err != nil {
			return connector.ReadResult{}, err
		}
		<-ctx.Done() // a search that waits for the directory
		stopped <- ctx.Err()
		return connector.ReadResult{}, ctx.Err()
	}}
	conn, _ := overPlugin(t, c)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := conn.Read(ctx, connector.ReadRequest{}, func(connector.Record) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Read = %v, want context.Canceled", err)
	}
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the server's Read saw %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server's Read never saw the cancellation")
	}
}

// rawServer is a protocol server that misbehaves on purpose.
type rawServer struct {
	connectorpb.UnimplementedConnectorServer
	read func(stream connectorpb.Connector_ReadServer) error
}

func (s *rawServer) Read(_ *connectorpb.ReadRequest, stream connectorpb.Connector_ReadServer) error {
	return s.read(stream)
}

func serveRaw(t *testing.T, s *rawServer) connector.Connector {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	connectorpb.RegisterConnectorServer(srv, s)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return &grpcClient{client: connectorpb.NewConnectorClient(cc)}
}

func batchOf(ids ...string) *connectorpb.ReadResponse {
	var enc recordwire.Encoder
	for _, id := range ids {
		enc.Add(&recordwire.Record{ID: id})
	}
	return batchMsg(enc.Finish())
}

func batchMsg(data []byte) *connectorpb.ReadResponse {
	return &connectorpb.ReadResponse{Msg: &connectorpb.ReadResponse_Batch{Batch: &connectorpb.RecordBatch{Records: data}}}
}

func TestIncompleteStreams(t *testing.T) {
	tests := []struct {
		name string
		read func(stream connectorpb.Connector_ReadServer) error
	}{
		{"ends without End", func(s connectorpb.Connector_ReadServer) error {
			return s.Send(batchOf("a", "b"))
		}},
		{"End counts more than arrived", func(s connectorpb.Connector_ReadServer) error {
			if err := s.Send(batchOf("a", "b")); err != nil {
				return err
			}
			return s.Send(&connectorpb.ReadResponse{Msg: &connectorpb.ReadResponse_End{End: &connectorpb.End{Count: 3}}})
		}},
		{"empty message", func(s connectorpb.Connector_ReadServer) error {
			return s.Send(&connectorpb.ReadResponse{})
		}},
		{"corrupt batch", func(s connectorpb.Connector_ReadServer) error {
			data := batchOf("a", "b").GetBatch().GetRecords()
			if err := s.Send(batchMsg(data[:len(data)-1])); err != nil {
				return err
			}
			return s.Send(&connectorpb.ReadResponse{Msg: &connectorpb.ReadResponse_End{End: &connectorpb.End{Count: 2}}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := serveRaw(t, &rawServer{read: tt.read})
			_, err := conn.Read(t.Context(), connector.ReadRequest{}, func(connector.Record) error { return nil })
			if !errors.Is(err, ErrIncompleteRead) {
				t.Errorf("Read = %v, want ErrIncompleteRead", err)
			}
		})
	}
}

// An connector.Invalid record crosses the plugin boundary with its ID, DN and problem, to the
// decoding Read and to ReadRaw alike.
func TestInvalidRecordsCross(t *testing.T) {
	sent := []connector.Record{
		{ID: "1", Attributes: map[string][]string{"cn": {"One"}}},
		{ID: "2", DN: "hr.csv:3", Kind: connector.Invalid, Problem: "hr.csv:3: ID 2 appears twice (lines 3 and 4)"},
		{Kind: connector.Invalid, Problem: "hr.csv:5: the ID column employee_id is empty"},
		{ID: "3", Attributes: map[string][]string{"cn": {"Three"}}},
	}
	c := &funcConnector{read: func(ctx context.Context, emit connector.EmitFunc) (connector.ReadResult, error) {
		for _, r := range sent {
			if err := emit(r); err != nil {
				return connector.ReadResult{}, err
			}
		}
		return connector.ReadResult{Count: int64(len(sent))}, nil
	}}
	conn, _ := overPlugin(t, c)
	var got []connector.Record
	if _, err := conn.Read(t.Context(), connector.ReadRequest{}, func(r connector.Record) error {
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatalf("Read: %v", err)
	}
	var raw []connector.Record
	if _, err := conn.(RawReader).ReadRaw(t.Context(), connector.ReadRequest{}, func(b *RawBatch) error {
		for i := range b.Len() {
			r, err := b.Record(i)
			if err != nil {
				return err
			}
			if r.Problem != b.Problem(i) || r.Kind != b.Kind(i) {
				t.Errorf("raw record %d: Problem()/Kind() %q/%d, decoded %q/%d", i, b.Problem(i), b.Kind(i), r.Problem, r.Kind)
			}
			raw = append(raw, r)
		}
		return nil
	}); err != nil {
		t.Fatalf("ReadRaw: %v", err)
	}
	for name, recs := range map[string][]connector.Record{"Read": got, "ReadRaw": raw} {
		if len(recs) != len(sent) {
			t.Fatalf("%s: %d records, want %d", name, len(recs), len(sent))
		}
		for i := range sent {
			if !sameRecord(recs[i], sent[i]) {
				t.Errorf("%s record %d:\n got %#v\nwant %#v", name, i, recs[i], sent[i])
			}
		}
	}
}

// sameRecord reports whether a and b are the same record, an empty map and a nil one
// alike.
func sameRecord(a, b connector.Record) bool {
	wa, wb := toWire(&a), toWire(&b)
	var c recordwire.Canonicalizer
	return a.Kind == b.Kind && a.Problem == b.Problem &&
		string(c.AppendRecord(nil, &wa)) == string(c.AppendRecord(nil, &wb))
}
