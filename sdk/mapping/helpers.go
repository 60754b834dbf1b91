package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Lower returns s lower-cased.
func Lower(s string) string { return strings.ToLower(s) }

// Trim returns s without leading and trailing white space.
func Trim(s string) string { return strings.TrimSpace(s) }

// RDN returns the value of the first relative distinguished name of dn, unescaped:
// RDN(`CN=Doe\, Jane,OU=People,DC=example,DC=com`) is "Doe, Jane". For a multi-valued
// RDN (`cn=Jane+uid=jd,…`) it returns the first value. It returns "" for a string that
// is not a DN.
func RDN(dn string) string {
	eq := strings.IndexByte(dn, '=')
	if eq <= 0 {
		return ""
	}
	var b strings.Builder
	for i := eq + 1; i < len(dn); i++ {
		c := dn[i]
		switch c {
		case ',', '+', ';':
			return strings.TrimSpace(b.String())
		case '\\':
			if i+2 < len(dn) && isHex(dn[i+1]) && isHex(dn[i+2]) {
				v, _ := strconv.ParseUint(dn[i+1:i+3], 16, 8)
				b.WriteByte(byte(v))
				i += 2
			} else if i+1 < len(dn) {
				b.WriteByte(dn[i+1])
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// E164 normalises a telephone number to E.164 ("+4930123456"). A number written with a
// leading + or 00 keeps its country code; any other is national, in the country of
// defaultCountryCode ("49" or "+49"), with its trunk prefix (a leading 0, or a leading 1
// in North America) dropped; so is a "(0)" after a country code. Spaces, dots, dashes, slashes and parentheses are ignored,
// as is an extension ("x12", "ext. 12"). It returns false if phone has other characters,
// is national without a default country code, or has too few or too many digits.
func E164(phone, defaultCountryCode string) (string, bool) {
	var buf [40]byte
	out, ok := AppendE164(buf[:0], phone, defaultCountryCode)
	if !ok {
		return "", false
	}
	return string(out), true
}

// AppendE164 is E164 appending the number to dst, so that a mapping can build several
// values in one buffer (one allocation instead of one per value). It returns dst
// unchanged and false where E164 returns false.
func AppendE164(dst []byte, phone, defaultCountryCode string) ([]byte, bool) {
	s := Trim(phone)
	if i := extension(s); i >= 0 {
		s = Trim(s[:i])
	}
	// "+49 (0)30 …": the trunk prefix in parentheses is dialled only nationally.
	international := strings.HasPrefix(s, "+") || strings.HasPrefix(s, "00")
	trunk := -1
	if international {
		trunk = strings.Index(s, "(0)")
	}
	var digits [32]byte
	n := 0
	plus := false
	for i := 0; i < len(s); i++ {
		if i == trunk {
			i += len("(0)") - 1
			continue
		}
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			if n == len(digits) {
				return dst, false
			}
			digits[n] = c
			n++
		case c == '+' && n == 0 && !plus:
			plus = true
		case c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')' || c == '\t':
		default:
			return dst, false
		}
	}
	d := digits[:n]
	start := len(dst)
	out := dst
	switch {
	case plus:
		out = append(out, '+')
		out = append(out, d...)
	case len(d) > 2 && d[0] == '0' && d[1] == '0':
		out = append(out, '+')
		out = append(out, d[2:]...)
	default:
		cc := strings.TrimPrefix(strings.TrimSpace(defaultCountryCode), "+")
		if !validCountryCode(cc) {
			return dst, false
		}
		national := d
		switch {
		case cc == "1" && len(national) == 11 && national[0] == '1':
			national = national[1:]
		case cc != "1" && cc != "39" && len(national) > 0 && national[0] == '0':
			// Italy keeps its leading 0 after the country code; most others drop it.
			national = national[1:]
		}
		out = append(out, '+')
		out = append(out, cc...)
		out = append(out, national...)
	}
	// E.164 allows at most 15 digits; fewer than 7 is no subscriber number.
	if digitsLen := len(out) - start - 1; digitsLen < 7 || digitsLen > 15 || out[start+1] == '0' {
		return dst, false
	}
	return out, true
}

func validCountryCode(cc string) bool {
	if len(cc) == 0 || len(cc) > 3 || cc[0] == '0' {
		return false
	}
	for i := 0; i < len(cc); i++ {
		if cc[i] < '0' || cc[i] > '9' {
			return false
		}
	}
	return true
}

// extension returns the index where an extension ("x12", "ext. 12", "ext12", "#12")
// starts, or -1.
func extension(s string) int {
	if !strings.ContainsAny(s, "xX#") {
		return -1
	}
	for _, marker := range [...]string{"ext", "x", "#"} {
		if i := lastIndexFold(s, marker); i > 0 {
			rest := strings.TrimLeft(s[i+len(marker):], ". :")
			if rest != "" && strings.Trim(rest, "0123456789") == "" {
				return i
			}
		}
	}
	return -1
}

// lastIndexFold is strings.LastIndex(strings.ToLower(s), marker) for an ASCII,
// lower-case marker, without allocating.
func lastIndexFold(s, marker string) int {
	for i := len(s) - len(marker); i >= 0; i-- {
		// s[i]|0x20 lower-cases a letter: a cheap test before the call.
		if s[i]|0x20 == marker[0] && strings.EqualFold(s[i:i+len(marker)], marker) {
			return i
		}
	}
	return -1
}

// ErrBadDate is wrapped by ParseDate's errors.
var ErrBadDate = errors.New("not a date")

// dateLayouts are the layouts ParseDate tries, in order.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02",
	"20060102150405Z0700", // LDAP GeneralizedTime
	"20060102150405.0Z0700",
	"200601021504Z0700",
	"20060102",
	"02.01.2006",
}

// ParseDate parses the date formats directories and HR exports use: RFC 3339, ISO dates
// ("2024-03-01", with or without a time), LDAP GeneralizedTime ("20240301120000Z",
// fractions allowed), "01.03.2024" (day first), and Active Directory file times (100 ns
// intervals since 1601, as in accountExpires; 0 and 9223372036854775807 mean "never" and
// are errors). Times without a zone are UTC.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if len(s) >= 17 && len(s) <= 19 && strings.Trim(s, "0123456789") == "" {
		ft, err := strconv.ParseInt(s, 10, 64)
		if err == nil && ft > 0 && ft != 1<<63-1 {
			// 116444736000000000 is 1970-01-01 in file time.
			const unixEpoch = 116444736000000000
			ft -= unixEpoch
			return time.Unix(ft/1e7, (ft%1e7)*100).UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %q", ErrBadDate, s)
}
