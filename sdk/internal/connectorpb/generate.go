// Package connectorpb holds the generated protobuf and gRPC code of the connector
// protocol (connector.proto). It is internal to the SDK: everything outside sdk/ talks
// through the plain Go types of package connector.
package connectorpb

//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative connector.proto
