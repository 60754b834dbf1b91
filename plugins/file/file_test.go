package file_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/peoplesync/peoplesync/plugins/file"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/connectortest"
)

var photo = []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x48}

const (
	id1 = "6f1c0d3e-0001-4b6e-9a51-000000000001"
	id2 = "6f1c0d3e-0002-4b6e-9a51-000000000002"
	id3 = "6f1c0d3e-0003-4b6e-9a51-000000000003"
	dn1 = "uid=ada.lovelace,ou=people,dc=example,dc=com"
	dn2 = "uid=zoë.ødegård,ou=people,dc=example,dc=com"
	dn3 = "uid=li.lei,ou=people,dc=example,dc=com"
)

type attrs = map[string][]string

var wantLDIF = []connector.Record{
	{ID: id1, DN: dn1, Attributes: attrs{
		"objectClass": {"inetOrgPerson"}, "entryUUID": {id1}, "cn": {"Ada Lovelace"}, "sn": {"Lovelace"},
		"mail": {"ada@example.com", "ada.lovelace@example.com"}, "title": {"Engineer"},
	}, Binary: map[string][][]byte{"jpegPhoto": {photo}}},
	{ID: id2, DN: dn2, Attributes: attrs{
		"objectClass": {"inetOrgPerson"}, "entryUUID": {id2}, "cn": {"Zoë Ødegård"}, "sn": {"Ødegård"},
		"mail": {"zoe@example.com"}, "title": {"Manager"}, "manager": {dn1},
		"description": {"Leads the platform team since 2019; writes the on-call handbook and reviews every design document that touches the directory."},
	}},
	{ID: id3, DN: dn3, Attributes: attrs{
		"objectclass": {"inetOrgPerson"}, "entryuuid": {id3}, "cn": {"李雷"}, "sn": {"李"},
		"mail": {"li.lei@example.com"}, "telephoneNumber": {"+86 10 1234 5678", "+86 138 0000 0000"},
	}},
}

var wantCSV = []connector.Record{
	{ID: id1, DN: dn1, Attributes: attrs{
		"id": {id1}, "dn": {dn1}, "cn": {"Ada Lovelace"},
		"mail": {"ada@example.com", "ada.lovelace@example.com"}, "title": {"Engineer, Platform"},
	}, Binary: map[string][][]byte{"jpegPhoto": {photo}}},
	{ID: id2, DN: dn2, Attributes: attrs{
		"id": {id2}, "dn": {dn2}, "cn": {"Zoë Ødegård"}, "mail": {"zoe@example.com"}, "title": {"Manager"}, "manager": {dn1},
	}},
	{ID: id3, DN: dn3, Attributes: attrs{
		"id": {id3}, "dn": {dn3}, "cn": {"李雷"}, "mail": {"li.lei@example.com"}, "title": {`Says "hi" daily`},
	}},
}

var wantJSONL = []connector.Record{
	{ID: id1, DN: dn1, Attributes: attrs{
		"id": {id1}, "dn": {dn1}, "cn": {"Ada Lovelace"}, "mail": {"ada@example.com", "ada.lovelace@example.com"},
		"employeeNumber": {"1001"}, "active": {"true"},
	}, Binary: map[string][][]byte{"jpegPhoto": {photo}}},
	{ID: id2, DN: dn2, Attributes: attrs{
		"id": {id2}, "dn": {dn2}, "cn": {"Zoë Ødegård"}, "mail": {"zoe@example.com"},
		"employeeNumber": {"1002.5"}, "active": {"false"}, "manager": {dn1},
	}},
	{ID: id3, DN: dn3, Attributes: attrs{
		"id": {id3}, "dn": {dn3}, "cn": {"李雷"}, "mail": {"li.lei@example.com"}, "employeeNumber": {"1003"},
	}},
}

func config(t testing.TB, fields map[string]any) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestConformance(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]any
		want   []connector.Record
	}{
		{"ldif", map[string]any{"path": filepath.Join("testdata", "people.ldif")}, wantLDIF},
		{"csv", map[string]any{
			"path": filepath.Join("testdata", "people.csv"), "dn_attribute": "dn", "multi_value_separator": ";",
		}, wantCSV},
		{"jsonl", map[string]any{"path": filepath.Join("testdata", "people.jsonl"), "dn_attribute": "dn"}, wantJSONL},
	}
	// An HR export with an empty ID, a repeated ID and a NUL byte among good rows.
	bad := filepath.Join(t.TempDir(), "hr.csv")
	rows := "id,cn,title\n" +
		"1,Ada,Engineer\n" +
		",Nobody,Ghost\n" +
		"2,Bo,Manager\n" +
		"2,Bo Again,Manager\n" +
		"3,Cy\x00,Clerk\n" +
		"4,Di,Director\n"
	if err := os.WriteFile(bad, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	badSource := &connectortest.BadSource{
		Config: config(t, map[string]any{"path": bad, "id_attribute": "id"}),
		Valid: []connector.Record{
			{ID: "1", Attributes: attrs{"id": {"1"}, "cn": {"Ada"}, "title": {"Engineer"}}},
			{ID: "4", Attributes: attrs{"id": {"4"}, "cn": {"Di"}, "title": {"Director"}}},
		},
		Invalid: []connector.Record{
			{ID: "", Problem: bad + ":3:"},
			{ID: "2", Problem: bad + ":4:"},
			{ID: "2", Problem: bad + ":5:"},
			{ID: "3", Problem: bad + ":6:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			connectortest.Run(t, connectortest.Harness{
				New:          func(*testing.T) connector.Connector { return file.New() },
				Config:       config(t, tt.config),
				Want:         tt.want,
				BadConfig:    config(t, map[string]any{"path": tt.config["path"], "format": "xlsx"}),
				BadAttribute: "format",
				BadRecords:   badSource,
			})
		})
	}
}
