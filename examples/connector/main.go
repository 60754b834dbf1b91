// Command connector is a whole peoplesync connector in one file, built only on the
// author SDK: it serves the people of a JSON file, an array of objects such as
//
//	[{"id": "E1", "name": "Ada Lovelace", "mail": ["ada@example.com"]}, …]
//
// Build it and point a connector block at the binary:
//
//	go build -o people-json ./examples/connector
//
//	connector "people" {
//	  plugin = "./people-json"
//	  config { path = "people.json" }
//	}
//
// Each object, read as a stream, becomes one record: its id field (a string) is the ID,
// every other field a text attribute. An object without an ID becomes an Invalid record,
// so that one bad entry neither stops the sync nor looks like a person who left.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

func main() { connector.Serve(&peopleJSON{}) }

// peopleJSON is the connector; its config sits behind a mutex, as Configure may run
// while a Check does.
type peopleJSON struct {
	mu            sync.Mutex
	path, idField string // path is "" until configured
}

func (c *peopleJSON) Describe(context.Context) (connector.Description, error) {
	return connector.Description{Name: "people-json", Schema: connector.Schema{Attributes: []connector.AttributeSchema{
		{Name: "path", Type: connector.String, Required: true, Description: "the JSON file: an array of people"},
		{Name: "id_field", Type: connector.String, Description: `the field that holds each person's stable ID (default "id")`},
	}}}, nil
}

func (c *peopleJSON) Configure(_ context.Context, raw json.RawMessage) (connector.Diagnostics, error) {
	var cfg struct {
		Path    string `json:"path"`
		IDField string `json:"id_field"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return connector.Diagnostics{{Summary: "Invalid config", Detail: err.Error()}}, nil
	}
	if cfg.IDField == "" {
		cfg.IDField = "id"
	}
	if _, err := os.Stat(cfg.Path); err != nil {
		return connector.Diagnostics{{Summary: "People file not readable", Detail: err.Error(), Attribute: "path"}}, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.path, c.idField = cfg.Path, cfg.IDField
	return nil, nil
}

func (c *peopleJSON) config() (path, idField string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.path == "" {
		return "", "", connector.ErrNotConfigured
	}
	return c.path, c.idField, nil
}

func (c *peopleJSON) Check(context.Context) error {
	path, _, err := c.config()
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err == nil {
		err = f.Close()
	}
	return err
}

// Read emits one record per object of the array, in file order. Any error fails the
// read, and the engine then deletes nobody.
func (c *peopleJSON) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	path, idField, err := c.config()
	if err != nil {
		return connector.ReadResult{}, err
	}
	if req.Mode != connector.Full {
		return connector.ReadResult{}, errors.New("people-json reads whole files only; it declares no delta capability")
	}
	f, err := os.Open(path)
	if err != nil {
		return connector.ReadResult{}, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.UseNumber() // 1000000 stays "1000000", not "1e+06"
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return connector.ReadResult{}, fmt.Errorf("%s: the file must hold a JSON array of people", path)
	}
	var n int64
	for i := 1; dec.More(); i++ {
		if err := ctx.Err(); err != nil {
			return connector.ReadResult{}, err
		}
		var person map[string]any
		if err := dec.Decode(&person); err != nil {
			return connector.ReadResult{}, fmt.Errorf("%s: person %d: %w", path, i, err)
		}
		if err := emit(record(person, idField, fmt.Sprintf("%s: person %d", path, i))); err != nil {
			return connector.ReadResult{}, err
		}
		n++
	}
	if _, err := dec.Token(); err != nil { // the closing ]: a cut-off file fails the read
		return connector.ReadResult{}, fmt.Errorf("%s: after person %d: %w", path, n, err)
	}
	return connector.ReadResult{Count: n}, nil
}

// record turns one object into a record; where says where it is, for an Invalid one.
func record(person map[string]any, idField, where string) connector.Record {
	id, _ := person[idField].(string)
	if strings.TrimSpace(id) == "" {
		return connector.Record{Kind: connector.Invalid, Problem: fmt.Sprintf("%s: no %s", where, idField)}
	}
	r := connector.Record{ID: id, Attributes: map[string][]string{}}
	for name, v := range person {
		if name == idField {
			continue
		}
		if list, ok := v.([]any); ok {
			for _, x := range list {
				r.Attributes[name] = append(r.Attributes[name], fmt.Sprint(x))
			}
		} else if v != nil {
			r.Attributes[name] = []string{fmt.Sprint(v)}
		}
	}
	return r
}
