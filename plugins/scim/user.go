package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/peoplesync/peoplesync/plugins/internal/apihttp"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// The schema URNs of RFC 7643 and 7644 the connector reads.
const (
	listResponseURN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	enterpriseURN   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// enterprisePrefix qualifies the enterprise attributes' record names (RFC 7644 §3.10).
	enterprisePrefix = enterpriseURN + ":"
)

// user is the part of a User resource (RFC 7643 §4.1 and §4.3) the connector reads.
// encoding/json matches the names case-insensitively, as RFC 7643 §2.1 wants.
type user struct {
	ID                string      `json:"id"`
	ExternalID        string      `json:"externalId"`
	UserName          string      `json:"userName"`
	Name              *name       `json:"name"`
	DisplayName       string      `json:"displayName"`
	NickName          string      `json:"nickName"`
	ProfileURL        string      `json:"profileUrl"`
	Title             string      `json:"title"`
	UserType          string      `json:"userType"`
	PreferredLanguage string      `json:"preferredLanguage"`
	Locale            string      `json:"locale"`
	Timezone          string      `json:"timezone"`
	Active            *flag       `json:"active"`
	Emails            []multi     `json:"emails"`
	PhoneNumbers      []multi     `json:"phoneNumbers"`
	Photos            []multi     `json:"photos"`
	Addresses         []address   `json:"addresses"`
	Enterprise        *enterprise `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
	Meta              *struct {
		LastModified string `json:"lastModified"`
	} `json:"meta"`
}

type name struct {
	Formatted       string `json:"formatted"`
	FamilyName      string `json:"familyName"`
	GivenName       string `json:"givenName"`
	MiddleName      string `json:"middleName"`
	HonorificPrefix string `json:"honorificPrefix"`
	HonorificSuffix string `json:"honorificSuffix"`
}

// multi is one value of a multi-valued attribute (RFC 7643 §2.4).
type multi struct {
	Value   string `json:"value"`
	Type    string `json:"type"`
	Primary flag   `json:"primary"`
}

type address struct {
	Formatted     string `json:"formatted"`
	StreetAddress string `json:"streetAddress"`
	Locality      string `json:"locality"`
	Region        string `json:"region"`
	PostalCode    string `json:"postalCode"`
	Country       string `json:"country"`
	Type          string `json:"type"`
	Primary       flag   `json:"primary"`
}

type enterprise struct {
	EmployeeNumber string `json:"employeeNumber"`
	CostCenter     string `json:"costCenter"`
	Organization   string `json:"organization"`
	Division       string `json:"division"`
	Department     string `json:"department"`
	Manager        *struct {
		Value       string `json:"value"`
		DisplayName string `json:"displayName"`
	} `json:"manager"`
}

// flag is a SCIM boolean. RFC 7643 §2.3.2 says true or false; the strings "true" and
// "false" (in any case) are read too, because services send them.
type flag struct{ set, value bool }

func (f *flag) UnmarshalJSON(b []byte) error {
	switch string(b) { // the common cases, without decoding
	case "true":
		*f = flag{set: true, value: true}
		return nil
	case "false":
		*f = flag{set: true}
		return nil
	case "null":
		*f = flag{}
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*f = flag{set: true, value: v}
		return nil
	case string:
		switch v = strings.TrimSpace(v); {
		case strings.EqualFold(v, "true"):
			*f = flag{set: true, value: true}
			return nil
		case strings.EqualFold(v, "false"):
			*f = flag{set: true}
			return nil
		}
	}
	// A type error, so that encoding/json adds the attribute's name.
	return &json.UnmarshalTypeError{Value: "value " + apihttp.Shorten(string(b), 40), Type: reflect.TypeFor[bool]()}
}

// Record attribute names that are not SCIM attribute names as they stand.
const (
	attrManager      = enterprisePrefix + "manager.value"
	attrManagerName  = enterprisePrefix + "manager.displayName"
	attrLastModified = "meta.lastModified"
)

// builder turns one resource into a record's parts for a RecordWriter. Its buffers are
// reused from record to record; what it hands the writer stays valid until the next
// resource.
type builder struct {
	buf   []byte   // every value of the record, one after the other
	spans [][2]int // where each value lies in buf (vals is built once buf stops growing)
	attrs []pendingAttr
	vals  [][]byte
}

type pendingAttr struct {
	name       string
	start, end int // indexes into spans
}

// resourceProblem is why one resource cannot be read: it becomes an Invalid record.
type resourceProblem struct {
	id     string // "" when the resource's id cannot be read
	reason string
}

// decodeUser reads one resource of a ListResponse. A resource that cannot be read comes
// back as a *resourceProblem.
func decodeUser(raw json.RawMessage) (*user, *resourceProblem) {
	if !utf8.Valid(raw) {
		return nil, &resourceProblem{id: idOf(raw), reason: "the resource is not valid UTF-8"}
	}
	u := new(user)
	if err := json.Unmarshal(raw, u); err != nil {
		return nil, &resourceProblem{id: idOf(raw), reason: jsonProblem(err)}
	}
	if strings.TrimSpace(u.ID) == "" {
		return nil, &resourceProblem{reason: "the resource has no id"}
	}
	return u, nil
}

// idOf returns a resource's id when it is a non-blank string, or "".
func idOf(raw json.RawMessage) string {
	var r struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return ""
	}
	if s, ok := r.ID.(string); ok && strings.TrimSpace(s) != "" && utf8.ValidString(s) {
		return s
	}
	return ""
}

// jsonProblem says which attribute of a resource has the wrong type.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "the resource"
		}
		return fmt.Sprintf("attribute %s is a JSON %s, where SCIM wants a %s", field, te.Value, scimType(te.Type.String()))
	}
	return "the resource cannot be read: " + err.Error()
}

func scimType(goType string) string {
	switch {
	case goType == "string":
		return "string"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "[]"):
		return "list (a multi-valued attribute)"
	default:
		return "complex value (an object)"
	}
}

// write writes u to w as an Upsert record, or reports a value the record cannot carry
// (text with a NUL character).
func (b *builder) write(w *connector.RecordWriter, u *user) (*resourceProblem, error) {
	b.buf = b.buf[:0]
	b.attrs = b.attrs[:0]
	b.spans = b.spans[:0]
	add := func(attr string, values ...string) {
		start := len(b.spans)
		for _, v := range values {
			if v == "" {
				continue
			}
			s := len(b.buf)
			b.buf = append(b.buf, v...)
			b.spans = append(b.spans, [2]int{s, len(b.buf)})
		}
		if len(b.spans) > start {
			b.attrs = append(b.attrs, pendingAttr{name: attr, start: start, end: len(b.spans)})
		}
	}
	add("externalId", u.ExternalID)
	add("userName", u.UserName)
	if n := u.Name; n != nil {
		add("name.formatted", n.Formatted)
		add("name.familyName", n.FamilyName)
		add("name.givenName", n.GivenName)
		add("name.middleName", n.MiddleName)
		add("name.honorificPrefix", n.HonorificPrefix)
		add("name.honorificSuffix", n.HonorificSuffix)
	}
	add("displayName", u.DisplayName)
	add("nickName", u.NickName)
	add("profileUrl", u.ProfileURL)
	add("title", u.Title)
	add("userType", u.UserType)
	add("preferredLanguage", u.PreferredLanguage)
	add("locale", u.Locale)
	add("timezone", u.Timezone)
	if u.Active != nil && u.Active.set {
		add("active", strconv.FormatBool(u.Active.value))
	}
	addMulti(add, "emails", u.Emails)
	addMulti(add, "phoneNumbers", u.PhoneNumbers)
	addMulti(add, "photos", u.Photos)
	addAddresses(add, u.Addresses)
	if e := u.Enterprise; e != nil {
		add(enterprisePrefix+"employeeNumber", e.EmployeeNumber)
		add(enterprisePrefix+"costCenter", e.CostCenter)
		add(enterprisePrefix+"organization", e.Organization)
		add(enterprisePrefix+"division", e.Division)
		add(enterprisePrefix+"department", e.Department)
		if m := e.Manager; m != nil {
			add(attrManager, m.Value)
			add(attrManagerName, m.DisplayName)
		}
	}
	if u.Meta != nil {
		add(attrLastModified, u.Meta.LastModified)
	}

	if strings.IndexByte(u.ID, 0) >= 0 {
		return &resourceProblem{reason: "the id holds a NUL character"}, nil
	}
	for _, a := range b.attrs {
		for _, s := range b.spans[a.start:a.end] {
			if bytes.IndexByte(b.buf[s[0]:s[1]], 0) >= 0 {
				return &resourceProblem{id: u.ID, reason: fmt.Sprintf("attribute %s holds a NUL character", a.name)}, nil
			}
		}
	}
	b.vals = b.vals[:0]
	for _, s := range b.spans {
		b.vals = append(b.vals, b.buf[s[0]:s[1]:s[1]])
	}
	w.Begin(connector.Upsert)
	w.SetID(u.ID)
	for _, a := range b.attrs {
		w.Text(a.name, b.vals[a.start:a.end:a.end])
	}
	return nil, w.End()
}

// addMulti adds a multi-valued attribute as the values of attr, the primary value first
// and the others in the service's order, and each type's values as attr.TYPE
// ("emails.work"), the type lower-cased; a type that is not a plain word is left out of
// the typed names.
func addMulti(add func(string, ...string), attr string, vs []multi) {
	if len(vs) == 0 {
		return
	}
	ordered := primaryFirst(vs, func(m multi) bool { return m.Primary.value })
	all := make([]string, len(ordered))
	for i, m := range ordered {
		all[i] = m.Value
	}
	add(attr, all...)
	var types []string
	for _, m := range ordered {
		t := typeName(m.Type)
		if t == "" || slices.Contains(types, t) {
			continue
		}
		types = append(types, t)
		var typed []string
		for _, o := range ordered {
			if typeName(o.Type) == t {
				typed = append(typed, o.Value)
			}
		}
		add(attr+"."+t, typed...)
	}
}

// addAddresses adds the primary address (or the first) as addresses.SUB, and the first
// address of each type as addresses.TYPE.SUB.
func addAddresses(add func(string, ...string), as []address) {
	if len(as) == 0 {
		return
	}
	ordered := primaryFirst(as, func(a address) bool { return a.Primary.value })
	one := func(prefix string, a address) {
		add(prefix+"formatted", a.Formatted)
		add(prefix+"streetAddress", a.StreetAddress)
		add(prefix+"locality", a.Locality)
		add(prefix+"region", a.Region)
		add(prefix+"postalCode", a.PostalCode)
		add(prefix+"country", a.Country)
	}
	one("addresses.", ordered[0])
	var types []string
	for _, a := range ordered {
		t := typeName(a.Type)
		if t == "" || slices.Contains(types, t) {
			continue
		}
		types = append(types, t)
		one("addresses."+t+".", a)
	}
}

func primaryFirst[T any](vs []T, primary func(T) bool) []T {
	out := make([]T, 0, len(vs))
	for _, v := range vs {
		if primary(v) {
			out = append(out, v)
		}
	}
	for _, v := range vs {
		if !primary(v) {
			out = append(out, v)
		}
	}
	return out
}

// typeName lower-cases a multi-valued attribute's type for a record attribute name, or
// returns "" for one that is not a plain word of at most 32 letters, digits, '-' or '_'.
func typeName(t string) string {
	t = strings.TrimSpace(t)
	if t == "" || len(t) > 32 {
		return ""
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return ""
		}
	}
	return strings.ToLower(t)
}
