package engine

import (
	"strings"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/profile"
)

func TestCheckProfile(t *testing.T) {
	good := func() *profile.Profile {
		p := &profile.Profile{Active: true, Attributes: map[string]string{"cost_center": "4711"}}
		p.Set(profile.UserName, "ada")
		p.Set(profile.Email, "ada@example.com")
		p.Set(profile.DisplayName, "Ada Lovelace")
		p.Photo = &profile.Photo{ContentType: "image/jpeg", Data: []byte{0xff, 0xd8, 0xff}}
		p.Seeded = []string{profile.Title, "attributes.desk"}
		return p
	}
	tests := []struct {
		name     string
		change   func(p *profile.Profile)
		required []string
		want     string // "" for a profile fit to be written
	}{
		{"good", func(*profile.Profile) {}, nil, ""},
		{"email only", func(p *profile.Profile) { p.Set(profile.UserName, "") }, nil, ""},
		{"user name only", func(p *profile.Profile) { p.Set(profile.Email, "") }, nil, ""},
		{"neither user name nor email", func(p *profile.Profile) { p.Set(profile.UserName, ""); p.Set(profile.Email, "") }, nil,
			"profile rejected: has neither a user_name nor an email"},
		{"required field empty", func(p *profile.Profile) {}, []string{profile.EmployeeNumber},
			"profile rejected: employee_number is empty, and the sync requires it"},
		{"required field blank", func(p *profile.Profile) { p.Set(profile.EmployeeNumber, "  ") }, []string{profile.EmployeeNumber},
			"employee_number is empty"},
		{"email with a display name", func(p *profile.Profile) { p.Set(profile.Email, "Ada <ada@example.com>") }, nil,
			`email "Ada <ada@example.com>" is not an email address`},
		{"email without @", func(p *profile.Profile) { p.Set(profile.Email, "ada.example.com") }, nil, "is not an email address"},
		{"email without a domain", func(p *profile.Profile) { p.Set(profile.Email, "ada@") }, nil, "is not an email address"},
		{"email with a bare host", func(p *profile.Profile) { p.Set(profile.Email, "ada@localhost") }, nil, "is not an email address"},
		{"email with spaces", func(p *profile.Profile) { p.Set(profile.Email, " ada@example.com") }, nil, "is not an email address"},
		{"10 MB display name", func(p *profile.Profile) { p.Set(profile.DisplayName, strings.Repeat("x", 10<<20)) }, nil,
			`display_name is 10485760 bytes long, more than 1024 (it starts "xxxx`},
		{"invalid UTF-8", func(p *profile.Profile) { p.Set(profile.Title, "Chef \xff") }, nil, "title holds bytes that are not UTF-8"},
		{"NUL byte", func(p *profile.Profile) { p.Set(profile.Title, "Chef\x00") }, nil, "title holds a NUL byte"},
		{"NUL in an attribute", func(p *profile.Profile) { p.Attributes["desk"] = "4\x002" }, nil, "attributes.desk holds a NUL byte"},
		{"NUL in the manager", func(p *profile.Profile) { p.Manager = "uid=x\x00" }, nil, "manager holds a NUL byte"},
		{"huge attribute", func(p *profile.Profile) { p.Attributes["notes"] = strings.Repeat("n", 17<<10) }, nil, "attributes.notes is 17408 bytes long"},
		{"unnamed attribute", func(p *profile.Profile) { p.Attributes[""] = "x" }, nil, "attributes has an entry without a name"},
		{"too many attributes", func(p *profile.Profile) {
			for i := range MaxAttributes + 1 {
				p.Attributes[strings.Repeat("a", i%100+1)+string(rune('a'+i/100))] = "x"
			}
		}, nil, "attributes has 2"},
		{"empty photo", func(p *profile.Profile) { p.Photo.Data = nil }, nil, "photo is empty"},
		{"photo of 11 MiB", func(p *profile.Profile) { p.Photo.Data = make([]byte, 11<<20) }, nil, "photo is 11534336 bytes, more than 10 MiB"},
		{"photo that is no image", func(p *profile.Profile) { p.Photo.ContentType = "text/html" }, nil, `photo has content type "text/html"`},
		{"seeded unknown field", func(p *profile.Profile) { p.Seeded = append(p.Seeded, "nickname") }, nil, `seeded names "nickname"`},
		{"seeded bare attributes.", func(p *profile.Profile) { p.Seeded = append(p.Seeded, "attributes.") }, nil, `seeded names "attributes."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good()
			tt.change(p)
			err := CheckProfile(p, tt.required)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("accepted, want %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
			if err != nil && len(err.Error()) > 300 {
				t.Errorf("error of %d bytes: a diagnostic must not echo a whole value", len(err.Error()))
			}
		})
	}
}
