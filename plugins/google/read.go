package google

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// userFields are the user fields a read asks for (the fields parameter): what a profile
// needs, and nothing that changes without the person changing (lastLoginTime, etag).
var userFields = []string{
	"id", "primaryEmail", "name", "suspended", "archived", "orgUnitPath", "organizations",
	"relations", "externalIds", "phones", "locations", "languages", "thumbnailPhotoUrl",
}

// Read streams every user to emit. The Directory API has no delta reads for users, so
// a Delta request fails.
func (c *Connector) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	return c.ReadTo(ctx, req, connector.NewRecordWriter(emit))
}

// ReadTo is Read, writing each user to w: served as a plugin, straight into the batch
// on its way to the engine.
func (c *Connector) ReadTo(ctx context.Context, req connector.ReadRequest, w *connector.RecordWriter) (connector.ReadResult, error) {
	cfg, err := c.config()
	if err != nil {
		return connector.ReadResult{}, err
	}
	if req.Mode != connector.Full {
		return connector.ReadResult{}, errors.New("google connector: the Directory API has no delta reads for users; use full reads")
	}
	if err := ctx.Err(); err != nil {
		return connector.ReadResult{}, fmt.Errorf("google connector: read: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends a page asked for ahead that the read no longer needs
	r := &reader{cl: newClient(ctx, cfg, c.clock), cfg: cfg, w: w, seen: map[string]struct{}{}}
	if err := r.run(ctx, !c.noReadAhead); err != nil {
		return connector.ReadResult{}, fmt.Errorf("google connector: %w", err)
	}
	return connector.ReadResult{Count: r.count}, nil
}

// reader is one read in progress.
type reader struct {
	cl    *client
	cfg   *config
	w     *connector.RecordWriter
	seen  map[string]struct{} // IDs written, so that a repeated one fails the read
	count int64
	attrs []attr // the user being converted, reused
}

// fetched is the answer to a page request.
type fetched struct {
	body []byte
	err  error
}

// fetch asks for the page after token ("" for the first) in the background.
func (r *reader) fetch(ctx context.Context, token string) <-chan fetched {
	ch := make(chan fetched, 1)
	go func() {
		body, err := r.cl.get(ctx, r.pageURL(token))
		ch <- fetched{body, err}
	}()
	return ch
}

// pageURL is GET users for the page after token.
func (r *reader) pageURL(token string) string {
	q := r.cfg.scopeQuery()
	q.Set("maxResults", strconv.Itoa(r.cfg.pageSize))
	q.Set("viewType", "admin_view")
	q.Set("projection", r.cfg.projection)
	fields := userFields
	if r.cfg.projection != "basic" {
		fields = append(slices.Clone(userFields), "customSchemas")
	}
	if r.cfg.projection == "custom" {
		q.Set("customFieldMask", strings.Join(r.cfg.customMask, ","))
	}
	q.Set("fields", "nextPageToken,users("+strings.Join(fields, ",")+")")
	if token != "" {
		q.Set("pageToken", token)
	}
	return r.cfg.usersURL() + "?" + q.Encode()
}

// run pages through the users. While one page is converted, the next is on its way
// (with readAhead): a read then takes about as long as its round trips.
func (r *reader) run(ctx context.Context, readAhead bool) error {
	next := r.fetch(ctx, "")
	prev := ""
	for n := 1; ; n++ {
		f := <-next
		if f.err != nil && n == 1 {
			return fmt.Errorf("page 1: %w", explain(r.cfg, f.err))
		}
		if f.err != nil { // not the customer or domain: they served page 1
			return fmt.Errorf("page %d: %w", n, f.err)
		}
		// A page is decoded in one pass into its users; only a page with a user that
		// does not decode (or text that is not UTF-8, which the decoder would replace
		// silently) is decoded again user by user, to say which one is wrong. One pass
		// instead of two (the page into raw users, then each user) took the read's
		// own CPU time in BenchmarkFullRead from ~33 to ~26 µs a user.
		var fast struct {
			Users         []user `json:"users"`
			NextPageToken string `json:"nextPageToken"`
		}
		var p *page
		var err error
		if !utf8.Valid(f.body) || json.Unmarshal(f.body, &fast) != nil {
			if p, err = decodePage(f.body); err != nil {
				return fmt.Errorf("page %d: %w", n, err)
			}
			fast.NextPageToken = p.NextPageToken
		}
		token := fast.NextPageToken
		if token != "" && token == prev {
			return fmt.Errorf("page %d: %w: the same nextPageToken twice", n, ErrProtocol)
		}
		prev = token
		if readAhead && token != "" {
			next = r.fetch(ctx, token)
		}
		count := len(fast.Users)
		if p != nil {
			count = len(p.Users)
		}
		for i := range count {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("read: %w", err)
			}
			where := func() string { return fmt.Sprintf("page %d, user %d", n, i+1) }
			if p != nil {
				err = r.user(ctx, p.Users[i], where)
			} else {
				err = r.write(ctx, &fast.Users[i], where)
			}
			if err != nil {
				return err
			}
		}
		if token == "" {
			return nil
		}
		if !readAhead {
			next = r.fetch(ctx, token)
		}
	}
}

// explain adds what a person can do about a list request the API refuses.
func explain(cfg *config, err error) error {
	var ae *apiError
	if !errors.As(err, &ae) || (ae.Status != http.StatusBadRequest && ae.Status != http.StatusNotFound) {
		return err
	}
	if cfg.domain != "" {
		return fmt.Errorf("the Directory API refuses to list the users of domain %q (is it a domain of the subject's account?): %w", cfg.domain, err)
	}
	return fmt.Errorf("the Directory API refuses to list the users of customer %q (my_customer, or the account's customer ID): %w", cfg.customer, err)
}

// page is one page of users.list.
type page struct {
	Users         []json.RawMessage `json:"users"`
	NextPageToken string            `json:"nextPageToken"`
}

// decodePage reads a page. An account without users answers without a users member,
// so only an answer that is not an object of this shape is wrong.
func decodePage(body []byte) (*page, error) {
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("%w: the users list is not the API's JSON: %w", ErrProtocol, err)
	}
	return &p, nil
}

// typed is an entry of a list of typed values: relations, externalIds, phones.
type typed struct {
	Value      string `json:"value"`
	Type       string `json:"type"`
	CustomType string `json:"customType"`
	Primary    bool   `json:"primary"`
}

// key is the name of the entry's type: its custom type for type "custom".
func (t typed) key() string {
	if t.Type == "custom" && t.CustomType != "" {
		return t.CustomType
	}
	if t.Type == "" {
		return "other"
	}
	return t.Type
}

// user is a user resource as far as the connector reads it (the Directory API's User,
// UserName, UserOrganization, UserRelation, UserExternalId, UserPhone, UserLocation and
// UserLanguage).
type user struct {
	ID           string `json:"id"`
	PrimaryEmail string `json:"primaryEmail"`
	Name         struct {
		GivenName  string `json:"givenName"`
		FamilyName string `json:"familyName"`
		FullName   string `json:"fullName"`
	} `json:"name"`
	Suspended     *bool          `json:"suspended"`
	Archived      *bool          `json:"archived"`
	OrgUnitPath   string         `json:"orgUnitPath"`
	ThumbnailURL  string         `json:"thumbnailPhotoUrl"`
	Organizations []organization `json:"organizations"`
	Relations     []typed        `json:"relations"`
	ExternalIDs   []typed        `json:"externalIds"`
	Phones        []typed        `json:"phones"`
	Locations     []struct {
		Type         string `json:"type"`
		Area         string `json:"area"`
		BuildingID   string `json:"buildingId"`
		FloorName    string `json:"floorName"`
		FloorSection string `json:"floorSection"`
		DeskCode     string `json:"deskCode"`
	} `json:"locations"`
	Languages     []language                            `json:"languages"`
	CustomSchemas map[string]map[string]json.RawMessage `json:"customSchemas"`
}

// language is a UserLanguage.
type language struct {
	LanguageCode   string `json:"languageCode"`
	CustomLanguage string `json:"customLanguage"`
	Preference     string `json:"preference"`
}

// organization is a UserOrganization.
type organization struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Department  string `json:"department"`
	CostCenter  string `json:"costCenter"`
	Description string `json:"description"`
	Location    string `json:"location"`
	Symbol      string `json:"symbol"`
	Domain      string `json:"domain"`
	Type        string `json:"type"`
	Primary     bool   `json:"primary"`
}

// attr is one attribute of the user being converted.
type attr struct {
	name   string
	values [][]byte
}

// user converts one entry of a page and writes it: an Upsert, or an Invalid record for
// an entry that cannot be read. where names the entry for a problem ("page 3, user 17").
func (r *reader) user(ctx context.Context, raw json.RawMessage, where func() string) error {
	if !utf8.Valid(raw) {
		return r.invalid(idOf(raw), where()+": text that is not UTF-8")
	}
	var u user
	if err := json.Unmarshal(raw, &u); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return r.invalid(idOf(raw), fmt.Sprintf("%s: %s is a JSON %s, not what the Directory API documents there", where(), te.Field, te.Value))
		}
		return r.invalid(idOf(raw), where()+": not a JSON object")
	}
	return r.write(ctx, &u, where)
}

// write writes a decoded user: an Upsert, or an Invalid record for one without an id or
// with a value that cannot be sent.
func (r *reader) write(ctx context.Context, u *user, where func() string) error {
	if strings.TrimSpace(u.ID) == "" || strings.IndexByte(u.ID, 0) >= 0 {
		return r.invalid("", where()+": the user has no id")
	}
	id := u.ID
	at := func() string { return fmt.Sprintf("%s (id %s)", where(), id) }
	if _, dup := r.seen[id]; dup {
		// The paging went wrong (ids are unique): the first record is already written,
		// so neither can be made Invalid, and the read is not to be trusted.
		return fmt.Errorf("%s: %w: the id appears twice in the read", at(), ErrProtocol)
	}
	r.seen[id] = struct{}{}

	attrs, problem := r.attributes(u)
	if problem != "" {
		return r.invalid(id, at()+": "+problem)
	}
	var photo []byte
	if r.cfg.photo && u.ThumbnailURL != "" {
		var err error
		if photo, err = r.photo(ctx, id); err != nil {
			return fmt.Errorf("%s: %w", at(), err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	w := r.w
	w.Begin(connector.Upsert)
	w.SetID(id)
	w.SetDN([]byte(u.PrimaryEmail))
	for _, a := range attrs {
		w.Text(a.name, a.values)
	}
	if len(photo) > 0 {
		w.Binary("photo", [][]byte{photo})
	}
	if err := w.End(); err != nil {
		return err
	}
	r.count++
	return nil
}

// attributes flattens u into record attributes (see the package doc), or says which
// value cannot be sent (one holding a NUL).
func (r *reader) attributes(u *user) ([]attr, string) {
	attrs := r.attrs[:0]
	problem := ""
	add := func(name string, values ...string) {
		var vs [][]byte
		for _, v := range values {
			if v == "" {
				continue
			}
			if strings.IndexByte(v, 0) >= 0 && problem == "" {
				problem = name + " holds a NUL character"
			}
			vs = append(vs, []byte(v))
		}
		if len(vs) == 0 {
			return
		}
		for i := range attrs {
			if attrs[i].name == name { // a type listed twice: one attribute, both values
				attrs[i].values = append(attrs[i].values, vs...)
				return
			}
		}
		attrs = append(attrs, attr{name, vs})
	}
	boolText := func(b *bool) string {
		if b == nil {
			return ""
		}
		return strconv.FormatBool(*b)
	}
	add("id", u.ID)
	add("primaryEmail", u.PrimaryEmail)
	add("name.givenName", u.Name.GivenName)
	add("name.familyName", u.Name.FamilyName)
	add("name.fullName", u.Name.FullName)
	add("suspended", boolText(u.Suspended))
	add("archived", boolText(u.Archived))
	add("orgUnitPath", u.OrgUnitPath)
	add("thumbnailPhotoUrl", u.ThumbnailURL)
	if o := primaryOrganization(u.Organizations); o != nil {
		add("organizations.name", o.Name)
		add("organizations.title", o.Title)
		add("organizations.department", o.Department)
		add("organizations.costCenter", o.CostCenter)
		add("organizations.description", o.Description)
		add("organizations.location", o.Location)
		add("organizations.symbol", o.Symbol)
		add("organizations.domain", o.Domain)
	}
	for _, rel := range u.Relations {
		add("relations."+rel.key(), rel.Value)
	}
	for _, x := range u.ExternalIDs {
		add("externalIds."+x.key(), x.Value)
	}
	phones := slices.Clone(u.Phones)
	slices.SortStableFunc(phones, func(a, b typed) int { return boolOrder(a.Primary, b.Primary) })
	for _, p := range phones {
		add("phones", p.Value)
	}
	for _, p := range phones {
		add("phones."+p.key(), p.Value)
	}
	if len(u.Locations) > 0 {
		l := u.Locations[0]
		add("locations.area", l.Area)
		add("locations.buildingId", l.BuildingID)
		add("locations.floorName", l.FloorName)
		add("locations.floorSection", l.FloorSection)
		add("locations.deskCode", l.DeskCode)
	}
	langs := slices.Clone(u.Languages)
	slices.SortStableFunc(langs, func(a, b language) int {
		return boolOrder(a.Preference == "preferred", b.Preference == "preferred")
	})
	for _, l := range langs {
		add("languages", cmpOr(l.LanguageCode, l.CustomLanguage))
	}
	for _, s := range sortedKeys(u.CustomSchemas) {
		fields := u.CustomSchemas[s]
		for _, f := range sortedKeys(fields) {
			add("customSchemas."+s+"."+f, customValues(fields[f])...)
		}
	}
	r.attrs = attrs[:0]
	return attrs, problem
}

// primaryOrganization is the organization marked primary, else the first; nil for none.
func primaryOrganization(orgs []organization) *organization {
	for i := range orgs {
		if orgs[i].Primary {
			return &orgs[i]
		}
	}
	if len(orgs) > 0 {
		return &orgs[0]
	}
	return nil
}

// boolOrder sorts true before false.
func boolOrder(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// customValues converts a custom schema field's value to text: a string as is, a
// number or bool as JSON writes it, and a multi-valued field ([{"type", "value"}]) as
// its values.
func customValues(v json.RawMessage) []string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return []string{s}
	}
	var list []json.RawMessage
	if json.Unmarshal(v, &list) == nil {
		var out []string
		for _, e := range list {
			var entry struct {
				Value json.RawMessage `json:"value"`
			}
			if json.Unmarshal(e, &entry) == nil && entry.Value != nil {
				out = append(out, customValues(entry.Value)...)
				continue
			}
			out = append(out, customValues(e)...)
		}
		return out
	}
	t := strings.TrimSpace(string(v))
	if t == "" || t == "null" || t[0] == '{' {
		return nil
	}
	return []string{t} // a number, true or false
}

// invalid writes an Invalid record.
func (r *reader) invalid(id, problem string) error {
	r.w.Begin(connector.Invalid)
	r.w.SetID(id)
	r.w.SetProblem(problem)
	if err := r.w.End(); err != nil {
		return err
	}
	r.count++
	return nil
}

// idOf reads the id of an entry that is otherwise unreadable, if it is a plain user ID
// (digits): then the engine protects that person's profile instead of deleting nobody.
func idOf(raw []byte) string {
	var u struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(raw, &u) != nil {
		return ""
	}
	var id string
	if json.Unmarshal(u.ID, &id) != nil || id == "" || len(id) > 64 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return ""
		}
	}
	return id
}

// photo fetches a user's thumbnail photo; nil if the user has none.
func (r *reader) photo(ctx context.Context, id string) ([]byte, error) {
	body, err := r.cl.get(ctx, r.cfg.usersURL()+"/"+url.PathEscape(id)+"/photos/thumbnail")
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the photo: %w", err)
	}
	var p struct {
		PhotoData string `json:"photoData"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("read the photo: %w: not a UserPhoto", ErrProtocol)
	}
	data, err := decodeWebSafe(p.PhotoData)
	if err != nil {
		return nil, fmt.Errorf("read the photo: %w: photoData is not web-safe base64", ErrProtocol)
	}
	return data, nil
}

// decodeWebSafe decodes photoData: base64 with the URL alphabet (- and _), padded with
// = or, as the API reference describes it, with * or . instead. The standard alphabet
// is taken too.
func decodeWebSafe(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '+':
			return '-'
		case '/':
			return '_'
		case '=', '*', '.', '\n', '\r', ' ':
			return -1
		}
		return r
	}, s)
	return base64.RawURLEncoding.DecodeString(s)
}
