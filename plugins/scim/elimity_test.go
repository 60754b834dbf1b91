package scim

// These tests read from a SCIM server that others wrote: github.com/elimity-com/scim, an
// independent implementation of RFC 7643/7644, served with httptest. Its users live in
// memHandler, a ResourceHandler written for the test; they are created through the
// server's own POST /Users, so its schema validation decides what a user looks like.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	elimity "github.com/elimity-com/scim"
	elimityerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	elimityschema "github.com/elimity-com/scim/schema"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/connectortest"
)

// memHandler keeps users in memory, in the order they were created.
type memHandler struct {
	mu    sync.Mutex
	next  int
	order []string
	users map[string]elimity.Resource
}

var _ elimity.ResourceHandler = (*memHandler)(nil)

func newMemHandler() *memHandler { return &memHandler{users: map[string]elimity.Resource{}} }

func (h *memHandler) Create(_ *http.Request, attrs elimity.ResourceAttributes) (elimity.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	id := fmt.Sprintf("elimity-%04d", h.next)
	res := elimity.Resource{ID: id, Attributes: attrs}
	if ext, ok := attrs["externalId"].(string); ok {
		res.ExternalID = optional.NewString(ext)
		delete(attrs, "externalId")
	}
	h.users[id] = res
	h.order = append(h.order, id)
	return res, nil
}

// put stores a resource as it is, past the server's validation: a broken one.
func (h *memHandler) put(res elimity.Resource) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.users[res.ID+"\x00"+strconv.Itoa(len(h.order))] = res
	h.order = append(h.order, res.ID+"\x00"+strconv.Itoa(len(h.order)))
}

func (h *memHandler) Get(_ *http.Request, id string) (elimity.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	res, ok := h.users[id]
	if !ok {
		return elimity.Resource{}, elimityerrors.ScimErrorResourceNotFound(id)
	}
	return res, nil
}

// GetAll filters with the server's filter validator and pages as RFC 7644 §3.4.2.4 says.
func (h *memHandler) GetAll(_ *http.Request, params elimity.ListRequestParams) (elimity.Page, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var matched []elimity.Resource
	for _, id := range h.order {
		res := h.users[id]
		if params.FilterValidator != nil {
			attrs := map[string]any{"id": res.ID}
			for k, v := range res.Attributes {
				attrs[k] = v
			}
			if params.FilterValidator.PassesFilter(attrs) != nil {
				continue
			}
		}
		matched = append(matched, res)
	}
	page := elimity.Page{TotalResults: len(matched), Resources: []elimity.Resource{}}
	if lo := params.StartIndex - 1; lo < len(matched) {
		page.Resources = matched[lo:min(lo+params.Count, len(matched))]
	}
	return page, nil
}

func (h *memHandler) Replace(*http.Request, string, elimity.ResourceAttributes) (elimity.Resource, error) {
	return elimity.Resource{}, elimityerrors.ScimErrorBadRequest("not in this test")
}

func (h *memHandler) Delete(*http.Request, string) error {
	return elimityerrors.ScimErrorBadRequest("not in this test")
}

func (h *memHandler) Patch(*http.Request, string, []elimity.PatchOperation) (elimity.Resource, error) {
	return elimity.Resource{}, elimityerrors.ScimErrorBadRequest("not in this test")
}

// elimityServer serves a library SCIM server over TLS behind a bearer-token check (the
// library leaves authentication to its user), with at most maxResults users a page.
func elimityServer(t *testing.T, h *memHandler, maxResults int) (url, ca string) {
	t.Helper()
	srv, err := elimity.NewServer(&elimity.ServerArgs{
		ServiceProviderConfig: &elimity.ServiceProviderConfig{MaxResults: maxResults, SupportFiltering: true},
		ResourceTypes: []elimity.ResourceType{{
			ID:               optional.NewString("User"),
			Name:             "User",
			Endpoint:         "/Users",
			Description:      optional.NewString("User Account"),
			Schema:           elimityschema.CoreUserSchema(),
			SchemaExtensions: []elimity.SchemaExtension{{Schema: elimityschema.ExtensionEnterpriseUser()}},
			Handler:          h,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		srv.ServeHTTP(w, r)
	})
	s, ca := serveHandler(t, auth)
	return s.URL + "/v2", ca
}

// create posts a user to the server, which validates it against its schemas.
func create(t *testing.T, url string, ca string, doc string) {
	t.Helper()
	c := newTest(newFakeClock())
	if _, err := c.Configure(t.Context(), testConfigAt(url, ca, "")); err != nil {
		t.Fatal(err)
	}
	cl, _ := c.configured()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/Users", bytes.NewBufferString(doc))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := cl.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /Users: %s (%v)", resp.Status, statusError(resp))
	}
}

func testConfigAt(url, ca, extra string) json.RawMessage {
	cfg := fmt.Sprintf(`{"url": %q, "ca_file": %q, "token": %q`, url, ca, testToken)
	if extra != "" {
		cfg += ", " + extra
	}
	return json.RawMessage(cfg + "}")
}

// The library's server holds the RFC's attribute types strictly, and finds an
// extension by its URN as spelled in RFC 7643 §4.3: Zoë is created with a boolean for
// "Active": "True" and the URN's capital U.
var elimityPeople = []string{
	barbara,
	minjun,
	strings.NewReplacer(`"Active": "True"`, `"active": true`, "enterprise:2.0:user", "enterprise:2.0:User").Replace(zoe),
}

func elimityWant() []connector.Record {
	out := make([]connector.Record, len(want))
	for i, r := range want {
		attrs := make(map[string][]string, len(r.Attributes))
		for k, v := range r.Attributes {
			attrs[k] = v
		}
		// The handler sets no meta.lastModified (the library writes only what
		// Resource.Meta holds) and assigns its own ids.
		delete(attrs, "meta.lastModified")
		// manager.displayName is read-only (RFC 7643 §4.3): a POST does not set it.
		delete(attrs, ent+"manager.displayName")
		if v := attrs[ent+"manager.value"]; len(v) > 0 && v[0] == want[0].ID {
			attrs[ent+"manager.value"] = []string{"elimity-0001"}
		}
		out[i] = connector.Record{ID: fmt.Sprintf("elimity-%04d", i+1), Attributes: attrs}
	}
	return out
}

func TestAgainstElimitySCIMServer(t *testing.T) {
	h := newMemHandler()
	url, ca := elimityServer(t, h, 2)
	for _, doc := range elimityPeople {
		create(t, url, ca, strings.Replace(doc, "2819c223-7f76-453a-919d-413861904646\"}", "elimity-0001\"}", 1))
	}

	bad := newMemHandler()
	badURL, badCA := elimityServer(t, bad, 2)
	create(t, badURL, badCA, elimityPeople[0])
	bad.put(elimity.Resource{ID: "", Attributes: elimity.ResourceAttributes{"userName": "ghost"}})
	bad.put(elimity.Resource{ID: "elimity-bad", Attributes: elimity.ResourceAttributes{"userName": 42}})
	w := elimityWant()

	connectortest.Run(t, connectortest.Harness{
		New:          func(*testing.T) connector.Connector { return newTest(newFakeClock()) },
		Config:       testConfigAt(url, ca, ""),
		Want:         w,
		BadConfig:    testConfigAt(url, ca, `"request_timeout": "forever"`),
		BadAttribute: "request_timeout",
		BadRecords: &connectortest.BadSource{
			Config: testConfigAt(badURL, badCA, ""),
			Valid:  []connector.Record{w[0]},
			Invalid: []connector.Record{
				{ID: "", Problem: "resource 2: the resource has no id"},
				{ID: "elimity-bad", Problem: "attribute userName is a JSON number, where SCIM wants a string"},
			},
		},
	})

	t.Run("filter", func(t *testing.T) {
		c := newTest(newFakeClock())
		got, err := read(t, c, testConfigAt(url, ca, `"filter": "active eq true"`))
		if err != nil {
			t.Fatal(err)
		}
		if g := ids(got); !slices.Equal(g, []string{"elimity-0001", "elimity-0003"}) {
			t.Errorf("the filter read %v, want elimity-0001 and elimity-0003", g)
		}
		if err := c.Check(t.Context()); err != nil {
			t.Errorf("Check: %v", err)
		}
		if _, err := read(t, c, testConfigAt(url, ca, `"filter": "nosuchattribute eq 1"`)); err == nil || !strings.Contains(err.Error(), "invalidFilter") {
			t.Errorf("a filter the server rejects: %v", err)
		}
	})

	t.Run("many pages", func(t *testing.T) {
		many := newMemHandler()
		mURL, mCA := elimityServer(t, many, 7)
		for i := range 40 {
			many.Create(nil, elimity.ResourceAttributes{"userName": fmt.Sprintf("u%02d", i)})
		}
		got, err := read(t, newTest(newFakeClock()), testConfigAt(mURL, mCA, `"page_size": 100`))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 40 || len(invalids(got)) != 0 {
			t.Errorf("read %d records (%d invalid), want 40 users", len(got), len(invalids(got)))
		}
	})
}
