// Package profile defines the People Service profile as a mapping produces it and as the
// store keeps it. It is plain Go with no dependencies so that it compiles both into WASM
// mapping modules (GOOS=wasip1) and into the host.
package profile

import (
	"crypto/sha256"
	"encoding/binary"
	"sort"
)

// Names of the core profile fields. They name columns of the profiles table, entries of
// Profile.Seeded and the fields of a plan's diff.
const (
	UserName       = "user_name"
	Email          = "email"
	GivenName      = "given_name"
	FamilyName     = "family_name"
	DisplayName    = "display_name"
	Title          = "title"
	Department     = "department"
	Organization   = "organization"
	EmployeeNumber = "employee_number"
	PhoneWork      = "phone_work"
	PhoneMobile    = "phone_mobile"
	Locale         = "locale"
	Timezone       = "timezone"
	Location       = "location"
)

// CoreFields lists the string fields of a profile in their canonical order: the order of
// the wire encoding, the content hash and the store's columns.
var CoreFields = [...]string{
	UserName, Email, GivenName, FamilyName, DisplayName, Title, Department, Organization,
	EmployeeNumber, PhoneWork, PhoneMobile, Locale, Timezone, Location,
}

// NumCoreFields is the number of string fields in CoreFields.
const NumCoreFields = len(CoreFields)

// Profile is one person as a mapping produced it from one source record.
type Profile struct {
	// Core holds the string fields, indexed like CoreFields. Use Get and Set by name.
	Core [NumCoreFields]string
	// Manager is the manager's external ID or DN in the same source. The store resolves it
	// to the manager's profile after all creates and updates of a run.
	Manager string
	// Active is false for people the source marks as disabled.
	Active bool
	// Attributes are other mapped fields, kept in the profile's attributes (jsonb).
	Attributes map[string]string
	// Photo is the source's picture of the person, if any.
	Photo *Photo
	// Seeded names the fields (core field names, or "attributes.NAME") that the mapping
	// only seeds: they are written while empty and are the person's to change after.
	Seeded []string
}

// Photo is a profile picture.
type Photo struct {
	ContentType string
	Data        []byte
}

// fieldIndex maps a core field name to its index in Profile.Core.
var fieldIndex = func() map[string]int {
	m := make(map[string]int, NumCoreFields)
	for i, name := range CoreFields {
		m[name] = i
	}
	return m
}()

// FieldIndex returns the index of a core field in Profile.Core, or -1 if name is not one.
func FieldIndex(name string) int {
	if i, ok := fieldIndex[name]; ok {
		return i
	}
	return -1
}

// Get returns the value of the core field name, or "" if name is not a core field.
func (p *Profile) Get(name string) string {
	if i, ok := fieldIndex[name]; ok {
		return p.Core[i]
	}
	return ""
}

// Set sets the core field name and reports whether name is a core field.
func (p *Profile) Set(name, value string) bool {
	i, ok := fieldIndex[name]
	if ok {
		p.Core[i] = value
	}
	return ok
}

// IsSeeded reports whether the mapping only seeds the field name.
func (p *Profile) IsSeeded(name string) bool {
	for _, s := range p.Seeded {
		if s == name {
			return true
		}
	}
	return false
}

// Hash returns a content hash of everything in p that a sync writes, plus salt (the
// mapping's identity, so that a changed module or settings re-maps every profile). Equal
// profiles have equal hashes regardless of map order.
func (p *Profile) Hash(salt []byte) [32]byte {
	h := sha256.New()
	var n [8]byte
	put := func(b []byte) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	put(salt)
	for _, v := range p.Core {
		put([]byte(v))
	}
	put([]byte(p.Manager))
	if p.Active {
		put([]byte{1})
	} else {
		put([]byte{0})
	}
	keys := make([]string, 0, len(p.Attributes))
	for k := range p.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	binary.LittleEndian.PutUint64(n[:], uint64(len(keys)))
	h.Write(n[:])
	for _, k := range keys {
		put([]byte(k))
		put([]byte(p.Attributes[k]))
	}
	if p.Photo != nil {
		put([]byte(p.Photo.ContentType))
		sum := sha256.Sum256(p.Photo.Data)
		put(sum[:])
	} else {
		put(nil)
	}
	seeded := append([]string(nil), p.Seeded...)
	sort.Strings(seeded)
	binary.LittleEndian.PutUint64(n[:], uint64(len(seeded)))
	h.Write(n[:])
	for _, s := range seeded {
		put([]byte(s))
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
