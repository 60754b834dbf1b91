//go:build !wasip1

package main

import (
	"os"
	"strings"
	"testing"
)

// The README's table of the attributes this mapping recognises names every one of
// them: a name added here and not there is one that users cannot find.
func TestREADMENamesEveryAttribute(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start := strings.Index(doc, "## The default mapping")
	if start < 0 {
		t.Fatal("README has no section \"The default mapping\"")
	}
	section := doc[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	lists := [][]string{userNameAttrs, emailAttrs, givenNameAttrs, familyNameAttrs, displayNameAttrs,
		titleAttrs, departmentAttrs, organizationAttrs, employeeNumAttrs, phoneWorkAttrs,
		phoneMobileAttrs, localeAttrs, timezoneAttrs, locationAttrs, managerAttrs, photoAttrs}
	for _, e := range extraAttributes {
		lists = append(lists, []string{e.source, e.key})
	}
	for _, l := range lists {
		for _, name := range l {
			if !strings.Contains(section, "`"+name+"`") {
				t.Errorf("README's default mapping section does not name `%s`", name)
			}
		}
	}
	for status := range inactiveStatus {
		if !strings.Contains(section, "`"+status+"`") {
			t.Errorf("README's default mapping section does not name the inactive status `%s`", status)
		}
	}
}
