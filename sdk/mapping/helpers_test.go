package mapping_test

import (
	"errors"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/sdk/mapping"
)

func TestRDN(t *testing.T) {
	cases := map[string]string{
		"uid=jdoe,ou=People,dc=example,dc=com":      "jdoe",
		`CN=Doe\, Jane,OU=People,DC=example,DC=com`: "Doe, Jane",
		`cn=J\C3\BCrgen M\C3\BCller,ou=People`:      "Jürgen Müller",
		"cn=Jane+uid=jd,ou=People":                  "Jane",
		" CN = Spaced ,DC=x":                        "Spaced",
		`cn=trailing\\,dc=x`:                        `trailing\`,
		"not a dn":                                  "",
		"":                                          "",
		"=novalue,dc=x":                             "",
		"cn=only":                                   "only",
	}
	for dn, want := range cases {
		if got := mapping.RDN(dn); got != want {
			t.Errorf("RDN(%q) = %q, want %q", dn, got, want)
		}
	}
}

func TestE164(t *testing.T) {
	cases := []struct {
		phone, cc, want string
		ok              bool
	}{
		{"+49 30 1234567", "", "+49301234567", true},
		{"+49 (0)30 1234567", "", "+49301234567", true},
		{"0049 30 1234567", "1", "+49301234567", true},
		{"030 1234567", "49", "+49301234567", true},
		{"030/123-45-67", "+49", "+49301234567", true},
		{"(555) 123-4567", "1", "+15551234567", true},
		{"1-555-123-4567", "1", "+15551234567", true},
		{"555.123.4567 x89", "1", "+15551234567", true},
		{"555 123 4567 ext. 89", "1", "+15551234567", true},
		{"555 123 4567 EXT 89", "1", "+15551234567", true},
		{"555 123 4567 #89", "1", "+15551234567", true},
		{"+49 (0)170 1234567 X", "", "", false}, // no digits after the x: no extension
		{"+49 30 (0)1234567", "", "+49301234567", true},
		{"06 1234 5678", "39", "+390612345678", true}, // Italy keeps its 0
		{"020 7946 0958", "44", "+442079460958", true},
		{"030 1234567", "", "", false},
		{"030 1234567", "DE", "", false},
		{"call reception", "49", "", false},
		{"+1 23", "", "", false},
		{"+1234567890123456", "", "", false},
		{"", "49", "", false},
	}
	for _, tc := range cases {
		got, ok := mapping.E164(tc.phone, tc.cc)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("E164(%q, %q) = %q, %v; want %q, %v", tc.phone, tc.cc, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseDate(t *testing.T) {
	cases := map[string]time.Time{
		"2024-03-01":                time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		"2024-03-01T12:30:00Z":      time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC),
		"2024-03-01T12:30:00+02:00": time.Date(2024, 3, 1, 10, 30, 0, 0, time.UTC),
		"2024-03-01 12:30:00":       time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC),
		"20240301123000Z":           time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC),
		"20240301123000.5Z":         time.Date(2024, 3, 1, 12, 30, 0, 5e8, time.UTC),
		"20240301123000+0100":       time.Date(2024, 3, 1, 11, 30, 0, 0, time.UTC),
		"01.03.2024":                time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		"133537248000000000":        time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), // AD file time
		" 2024-03-01 ":              time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
	}
	for in, want := range cases {
		got, err := mapping.ParseDate(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "0", "9223372036854775807", "2024-13-01", "1709251200"} {
		if _, err := mapping.ParseDate(bad); !errors.Is(err, mapping.ErrBadDate) {
			t.Errorf("ParseDate(%q) = %v, want ErrBadDate", bad, err)
		}
	}
}

func TestLowerTrim(t *testing.T) {
	if got := mapping.Lower("Jane.DOE@Example.COM"); got != "jane.doe@example.com" {
		t.Errorf("Lower = %q", got)
	}
	if got := mapping.Trim(" \t x y \n"); got != "x y" {
		t.Errorf("Trim = %q", got)
	}
}
