//go:build !wasip1

package mapping_test

import (
	"fmt"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

// Map is a module's mapping function. In a module, an init function registers it with
// mapping.Handle(Map); here it runs natively, as a module's own tests run it.
func Map(r *mapping.Record, s *mapping.Settings) (*profile.Profile, error) {
	uid := mapping.Trim(r.First("uid"))
	if uid == "" {
		return nil, mapping.Skip("no uid")
	}
	p := &profile.Profile{Active: true}
	p.Set(profile.UserName, uid)
	p.Set(profile.DisplayName, mapping.RDN(r.DN))
	if phone, ok := mapping.E164(r.First("telephoneNumber"), s.String("default_country_code", "")); ok {
		p.Set(profile.PhoneWork, phone)
	}
	return p, nil
}

func Example() {
	settings, _ := mapping.ParseSettings([]byte(`{"default_country_code": "49"}`))
	rec := mapping.NewRecord(connector.Record{
		ID: "5f1c9c52",
		DN: `cn=Doe\, Jane,ou=People,dc=example,dc=com`,
		Attributes: map[string][]string{
			"UID":             {"jdoe"}, // attribute names are case-insensitive
			"telephoneNumber": {"030 1234567"},
		},
	})
	p, err := Map(rec, settings)
	fmt.Println(p.Get(profile.UserName), "|", p.Get(profile.DisplayName), "|", p.Get(profile.PhoneWork), err)

	_, err = Map(mapping.NewRecord(connector.Record{ID: "x"}), settings)
	reason, skipped := mapping.IsSkip(err)
	fmt.Println(skipped, reason)
	// Output:
	// jdoe | Doe, Jane | +49301234567 <nil>
	// true no uid
}
