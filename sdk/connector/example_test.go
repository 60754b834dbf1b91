package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/connectortest"
)

// staticConnector serves a fixed list of people: the smallest complete connector, used
// to show the SDK and to run the conformance suite over the protocol.
type staticConnector struct {
	mu     sync.Mutex
	people []connector.Record
	limit  int // from config; -1 until configured
}

func newStatic(people []connector.Record) *staticConnector {
	return &staticConnector{people: people, limit: -1}
}

func (c *staticConnector) Describe(context.Context) (connector.Description, error) {
	return connector.Description{
		Name: "static",
		Schema: connector.Schema{Attributes: []connector.AttributeSchema{
			{Name: "limit", Type: connector.Number, Required: true, Description: "how many people to serve"},
		}},
	}, nil
}

func (c *staticConnector) Configure(_ context.Context, raw json.RawMessage) (connector.Diagnostics, error) {
	var cfg struct {
		Limit *int `json:"limit"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return connector.Diagnostics{{Summary: "invalid config", Detail: err.Error()}}, nil
	}
	if cfg.Limit == nil || *cfg.Limit < 0 {
		return connector.Diagnostics{{Summary: "limit must be a number of people, 0 or more", Attribute: "limit"}}, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limit = *cfg.Limit
	return nil, nil
}

func (c *staticConnector) Check(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limit < 0 {
		return connector.ErrNotConfigured
	}
	return nil
}

func (c *staticConnector) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	if err := c.Check(ctx); err != nil {
		return connector.ReadResult{}, err
	}
	if req.Mode != connector.Full {
		return connector.ReadResult{}, errors.New("static connector: no delta reads")
	}
	var n int64
	for i, r := range c.people {
		if i == c.limit {
			break
		}
		if err := ctx.Err(); err != nil {
			return connector.ReadResult{}, err
		}
		if err := emit(r); err != nil {
			return connector.ReadResult{}, err
		}
		n++
	}
	return connector.ReadResult{Count: n}, nil
}

var people = []connector.Record{
	{ID: "1", DN: "uid=ada,ou=people", Attributes: map[string][]string{"cn": {"Ada Lovelace"}, "mail": {"ada@example.com", "ada.l@example.com"}}},
	{ID: "2", DN: "uid=zoe,ou=people", Attributes: map[string][]string{"cn": {"Zoë Ødegård"}}, Binary: map[string][][]byte{"jpegPhoto": {{0xff, 0xd8, 0xff}}}},
	{ID: "3", DN: "uid=li,ou=people", Attributes: map[string][]string{"cn": {"李 雷"}}},
}

func TestStaticConnectorConforms(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		New:          func(*testing.T) connector.Connector { return newStatic(people) },
		Config:       json.RawMessage(`{"limit": 10}`),
		Want:         people,
		BadConfig:    json.RawMessage(`{"limit": -2}`),
		BadAttribute: "limit",
	})
}

// A connector's main is one line: the engine starts the binary as a subprocess and
// talks to it over gRPC. (Compiled, not run: Serve never returns.)
func ExampleServe() {
	connector.Serve(newStatic(people))
}

// A connector that decodes a wire format of its own (LDAP's BER, say) can hand each
// record over in parts, as bytes, by implementing WriterReader: served as a plugin, the
// parts go straight into the batch on its way to the engine. Its Read is then ReadTo
// with NewRecordWriter(emit), which builds Records from the parts, as here.
func ExampleRecordWriter() {
	w := connector.NewRecordWriter(func(r connector.Record) error {
		fmt.Println(r.ID, r.DN, r.Attributes["cn"], len(r.Binary["jpegPhoto"][0]))
		return nil
	})
	name, photo := []byte("Ada Lovelace"), []byte{0xff, 0xd8, 0xff}
	w.Begin(connector.Upsert)
	w.SetDN([]byte("uid=ada,ou=people"))
	w.Text("cn", [][]byte{name})
	w.Binary("jpegPhoto", [][]byte{photo})
	w.SetID("1") // parts come in any order; the ID often comes with the attributes
	if err := w.End(); err != nil {
		fmt.Println(err)
	}
	// Output: 1 uid=ada,ou=people [Ada Lovelace] 3
}
