package engine

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/peoplesync/peoplesync/sdk/profile"
)

// The limits a mapped profile must keep to be written. They are far above what a
// directory holds (Active Directory caps displayName at 256 characters and
// thumbnailPhoto at 100 KB) and far below what would hurt the store or the People
// Service: a mapping that puts a whole record into one field is caught, not stored.
const (
	// MaxFieldBytes bounds a core field (user_name, display_name, …) in bytes.
	MaxFieldBytes = 1024
	// MaxManagerBytes bounds a manager reference (an external ID or a DN).
	MaxManagerBytes = 4096
	// MaxAttributes bounds the number of a profile's attributes.
	MaxAttributes = 256
	// MaxAttributeNameBytes bounds an attribute's name.
	MaxAttributeNameBytes = 128
	// MaxAttributeBytes bounds one attribute's value.
	MaxAttributeBytes = 16 << 10
	// MaxPhotoBytes bounds a profile photo.
	MaxPhotoBytes = 10 << 20
)

// ProfileError says why a mapped profile was not written. It is a record error: the
// rest of the run goes on, and the record's profile stays as it was.
type ProfileError struct {
	// Field names the field at fault: a core field, "manager", "attributes.NAME",
	// "photo" or "seeded"; empty for the profile as a whole.
	Field string
	// Problem says what is wrong with it.
	Problem string
}

// Error reads "profile rejected: FIELD PROBLEM".
func (e *ProfileError) Error() string {
	if e.Field == "" {
		return "profile rejected: " + e.Problem
	}
	return "profile rejected: " + e.Field + " " + e.Problem
}

// CheckProfile returns a *ProfileError if p is not fit to be written, required naming
// the core fields (beyond the rules for every profile) that the sync requires. Every
// profile must name the person by user name or email; every text must be valid UTF-8
// without NUL bytes (the store could not hold them, and dropping them silently would
// store something the source never said); an email must be an address; and every value
// must keep to the limits above.
func CheckProfile(p *profile.Profile, required []string) error {
	for i, v := range p.Core {
		name := profile.CoreFields[i]
		if err := checkText(name, v, MaxFieldBytes); err != nil {
			return err
		}
	}
	if p.Get(profile.UserName) == "" && p.Get(profile.Email) == "" {
		return &ProfileError{Problem: "has neither a user_name nor an email: nothing would tell the person apart"}
	}
	for _, name := range required {
		if strings.TrimSpace(p.Get(name)) == "" {
			return &ProfileError{Field: name, Problem: "is empty, and the sync requires it"}
		}
	}
	if v := p.Get(profile.Email); v != "" {
		if err := checkEmail(v); err != nil {
			return err
		}
	}
	if err := checkText("manager", p.Manager, MaxManagerBytes); err != nil {
		return err
	}
	if len(p.Attributes) > MaxAttributes {
		return &ProfileError{Field: "attributes", Problem: fmt.Sprintf("has %d entries, more than %d", len(p.Attributes), MaxAttributes)}
	}
	for k, v := range p.Attributes {
		if k == "" {
			return &ProfileError{Field: "attributes", Problem: "has an entry without a name"}
		}
		if err := checkText("attribute name", k, MaxAttributeNameBytes); err != nil {
			return err
		}
		if err := checkText("attributes."+k, v, MaxAttributeBytes); err != nil {
			return err
		}
	}
	if ph := p.Photo; ph != nil {
		switch {
		case len(ph.Data) == 0:
			return &ProfileError{Field: "photo", Problem: "is empty (leave Photo nil for no photo)"}
		case len(ph.Data) > MaxPhotoBytes:
			return &ProfileError{Field: "photo", Problem: fmt.Sprintf("is %d bytes, more than %d MiB", len(ph.Data), MaxPhotoBytes>>20)}
		case !strings.HasPrefix(ph.ContentType, "image/") || !utf8.ValidString(ph.ContentType) || len(ph.ContentType) > 128:
			return &ProfileError{Field: "photo", Problem: fmt.Sprintf("has content type %s, want an image type such as image/jpeg", quote(ph.ContentType))}
		}
	}
	for _, s := range p.Seeded {
		if profile.FieldIndex(s) < 0 && (!strings.HasPrefix(s, "attributes.") || len(s) == len("attributes.")) {
			return &ProfileError{Field: "seeded", Problem: fmt.Sprintf("names %s, which is neither a core field nor attributes.NAME", quote(s))}
		}
	}
	return nil
}

// checkText applies the rules every text value keeps: valid UTF-8, no NUL, at most max
// bytes.
func checkText(field, v string, max int) error {
	switch {
	case len(v) > max:
		return &ProfileError{Field: field, Problem: fmt.Sprintf("is %d bytes long, more than %d (it starts %s)", len(v), max, quote(v))}
	case !utf8.ValidString(v):
		return &ProfileError{Field: field, Problem: fmt.Sprintf("holds bytes that are not UTF-8 text (%s)", quote(v))}
	case strings.IndexByte(v, 0) >= 0:
		return &ProfileError{Field: field, Problem: fmt.Sprintf("holds a NUL byte (%s)", quote(v))}
	}
	return nil
}

// storableText reports whether s is UTF-8 text without NUL bytes, which the store holds
// exactly as given.
func storableText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// checkEmail accepts a bare address (local@domain) as RFC 5322 defines it, without a
// display name, comments or spaces around it.
func checkEmail(v string) error {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" || !strings.Contains(v[strings.LastIndexByte(v, '@')+1:], ".") {
		return &ProfileError{Field: profile.Email, Problem: fmt.Sprintf("%s is not an email address (want local@domain.example)", quote(v))}
	}
	return nil
}

// quote quotes v for an error, cut to its first 60 bytes (at a rune boundary).
func quote(v string) string {
	const limit = 60
	if len(v) <= limit {
		return fmt.Sprintf("%q", v)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return fmt.Sprintf("%q…", v[:cut])
}
