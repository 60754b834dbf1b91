// Package connectortesting holds the two steps every bundled HTTP connector's own
// tests (entra, okta, google) take before checking anything: configure a connector,
// failing the test on a problem, and read all its records. The cases that hold every
// connector to the protocol are sdk/connectortest's; these only save each package
// from spelling the steps out again.
package connectortesting

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Configure configures c with the config block raw and fails the test if that returns
// an error or an error diagnostic.
func Configure(t testing.TB, c connector.Connector, raw json.RawMessage) {
	t.Helper()
	diags, err := c.Configure(context.Background(), raw)
	if err != nil || diags.HasErrors() {
		t.Fatalf("Configure: %v %+v", err, diags)
	}
}

// Read reads with req and returns every record c sent, in order, with the read's
// result and error as Read gave them.
func Read(t testing.TB, c connector.Connector, req connector.ReadRequest) ([]connector.Record, connector.ReadResult, error) {
	t.Helper()
	var got []connector.Record
	res, err := c.Read(context.Background(), req, func(r connector.Record) error {
		got = append(got, r)
		return nil
	})
	return got, res, err
}
