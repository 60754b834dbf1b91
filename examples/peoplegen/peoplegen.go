// Package peoplegen generates realistic, deterministic directories of people for the
// example sync, the tests and the benchmark: international names (many non-ASCII), a
// management tree, departments, phones, some people without mail and a few with photos.
//
// The same seed and size always give the same people, so a test can generate a directory,
// change some of it and know exactly what a sync must do.
package peoplegen

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"strings"
)

// Person is one generated person.
type Person struct {
	UUID           string
	UID            string
	GivenName      string
	FamilyName     string
	Mail           string // empty for some people
	Title          string
	Department     string
	EmployeeNumber string
	Phone          string
	Mobile         string
	City           string
	Language       string
	ManagerIndex   int // index of the manager in the directory, -1 for the top
	Photo          []byte
	Disabled       bool
}

// Options shape a generated directory.
type Options struct {
	// N is the number of people.
	N int
	// Seed makes the directory reproducible.
	Seed uint64
	// BaseDN is where people live, e.g. "ou=people,dc=example,dc=com".
	BaseDN string
	// MailDomain is the domain of generated mail addresses.
	MailDomain string
	// PhotoEvery gives every PhotoEvery-th person a photo (0: none). 20 gives 5%.
	PhotoEvery int
	// NoMailEvery leaves every NoMailEvery-th person without mail (0: all have mail).
	NoMailEvery int
}

// Defaults returns the options of the example directory for n people.
func Defaults(n int) Options {
	return Options{N: n, Seed: 42, BaseDN: "ou=people,dc=example,dc=com", MailDomain: "example.com", PhotoEvery: 20, NoMailEvery: 17}
}

var givenNames = []string{
	"Anna", "José", "Zoë", "Søren", "Łukasz", "Chloé", "Nguyễn Văn", "Mohammed", "Aiko", "Björn",
	"Dmitri", "Ioana", "Siobhán", "François", "Ólafur", "Þóra", "Priya", "Wei", "Kwame", "Lucía",
	"Mei", "Ngozi", "Oğuz", "Yusuf", "Małgorzata", "Jürgen", "Eleni", "Mateo", "Sven", "Amélie",
	"Renée", "Hamid", "Carlos", "Emma", "Liam", "Olivia", "Noah", "Sofía", "Hiroshi", "Ana",
	"Dragan", "Zsófia", "Tomás", "Inés", "Kateřina", "Ľubomír", "Ramón", "Astrid", "Aoife", "Rahul",
	"Александр", "Μαρία", "王", "佐藤", "Ji-woo", "Fatma", "Élodie", "Grzegorz", "Håkon", "Jovana",
}

var familyNames = []string{
	"Müller", "García", "Nielsen", "Kowalski", "Dubois", "Trần", "Al-Sayed", "Tanaka", "Johansson",
	"Ivanov", "Popescu", "Ó Briain", "Lefèvre", "Guðmundsson", "Sigurðardóttir", "Patel", "Zhang",
	"Mensah", "Fernández", "Chen", "Okafor", "Yılmaz", "Demir", "Wiśniewska", "Schröder", "Papadopoulou",
	"Rossi", "Lindqvist", "Bernard", "Côté", "Hosseini", "Silva", "Smith", "Brown", "Wilson", "López",
	"Yamamoto", "Santos", "Petrović", "Horváth", "Ruiz", "Núñez", "Dvořák", "Šťastný", "Martínez",
	"Andersen", "Murphy", "Sharma", "Смирнов", "Παπαδάκης", "伟", "花子", "Kim", "Öztürk", "Bäcker",
	"Łęcki", "Ødegaard", "Jovanović", "van der Berg", "O'Neill",
}

var departments = []string{
	"Engineering", "Sales", "Marketing", "Finance", "Human Resources", "Legal", "Support",
	"Operations", "Research", "Product", "Design", "Security", "Facilities", "Procurement",
}

var titles = []string{
	"Software Engineer", "Senior Software Engineer", "Account Executive", "Analyst", "Designer",
	"Product Manager", "Support Specialist", "Accountant", "Recruiter", "Counsel", "Researcher",
	"Operations Specialist", "Security Engineer", "Technician", "Buyer",
}

var cities = []struct{ city, lang, cc string }{
	{"Berlin", "de", "+49 30"}, {"München", "de", "+49 89"}, {"Paris", "fr", "+33 1"},
	{"Madrid", "es", "+34 91"}, {"København", "da", "+45"}, {"Kraków", "pl", "+48 12"},
	{"Reykjavík", "is", "+354"}, {"Tokyo", "ja", "+81 3"}, {"São Paulo", "pt", "+55 11"},
	{"London", "en", "+44 20"}, {"New York", "en", "+1 212"}, {"Zürich", "de", "+41 44"},
	{"İstanbul", "tr", "+90 212"}, {"Athína", "el", "+30 21"}, {"Ha Noi", "vi", "+84 24"},
}

// Generate returns the people of a directory.
func Generate(o Options) []Person {
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	people := make([]Person, o.N)
	usedUID := make(map[string]int, o.N)
	for i := range people {
		p := &people[i]
		p.UUID = uuidFrom(r)
		p.GivenName = givenNames[r.IntN(len(givenNames))]
		p.FamilyName = familyNames[r.IntN(len(familyNames))]
		base := asciiFold(strings.ToLower(firstWord(p.GivenName))) + "." + asciiFold(strings.ToLower(strings.ReplaceAll(p.FamilyName, " ", "")))
		if base == "." || strings.HasPrefix(base, ".") || strings.HasSuffix(base, ".") {
			base = "user"
		}
		usedUID[base]++
		p.UID = base
		if n := usedUID[base]; n > 1 {
			p.UID = fmt.Sprintf("%s%d", base, n)
		}
		if o.NoMailEvery == 0 || i%o.NoMailEvery != o.NoMailEvery-1 {
			p.Mail = p.UID + "@" + o.MailDomain
		}
		p.Department = departments[r.IntN(len(departments))]
		p.Title = titles[r.IntN(len(titles))]
		p.EmployeeNumber = fmt.Sprintf("E%06d", i+1)
		c := cities[r.IntN(len(cities))]
		p.City, p.Language = c.city, c.lang
		p.Phone = fmt.Sprintf("%s %04d %04d", c.cc, r.IntN(10000), r.IntN(10000))
		if r.IntN(3) > 0 {
			p.Mobile = fmt.Sprintf("%s 1%02d %07d", strings.Fields(c.cc)[0], r.IntN(100), r.IntN(10000000))
		}
		p.ManagerIndex = -1
		if i > 0 {
			// A tree with about eight reports per manager.
			p.ManagerIndex = (i - 1) / 8
		}
		if o.PhotoEvery > 0 && i%o.PhotoEvery == 3%o.PhotoEvery {
			p.Photo = photo(r)
		}
		p.Disabled = i > 10 && r.IntN(100) == 0
	}
	return people
}

// DN returns the distinguished name of p under baseDN.
func (p *Person) DN(baseDN string) string {
	return "uid=" + p.UID + "," + baseDN
}

// WriteLDIF writes people as an LDIF file of inetOrgPerson entries.
func WriteLDIF(w io.Writer, o Options, people []Person) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, "version: 1\n")
	for i := range people {
		p := &people[i]
		attr := func(name, value string) {
			if value == "" {
				return
			}
			if needsBase64(value) {
				fmt.Fprintf(bw, "%s:: %s\n", name, base64.StdEncoding.EncodeToString([]byte(value)))
				return
			}
			fmt.Fprintf(bw, "%s: %s\n", name, value)
		}
		attr("dn", p.DN(o.BaseDN))
		attr("objectClass", "top")
		attr("objectClass", "person")
		attr("objectClass", "organizationalPerson")
		attr("objectClass", "inetOrgPerson")
		attr("entryUUID", p.UUID)
		attr("uid", p.UID)
		attr("cn", p.GivenName+" "+p.FamilyName)
		attr("givenName", p.GivenName)
		attr("sn", p.FamilyName)
		attr("displayName", p.GivenName+" "+p.FamilyName)
		attr("mail", p.Mail)
		attr("title", p.Title)
		attr("ou", p.Department)
		attr("o", "Example Corp")
		attr("employeeNumber", p.EmployeeNumber)
		attr("telephoneNumber", p.Phone)
		attr("mobile", p.Mobile)
		attr("l", p.City)
		attr("preferredLanguage", p.Language)
		if p.ManagerIndex >= 0 {
			attr("manager", people[p.ManagerIndex].DN(o.BaseDN))
		}
		if p.Disabled {
			attr("employeeType", "inactive")
		} else {
			attr("employeeType", "employee")
		}
		if p.Photo != nil {
			fmt.Fprintf(bw, "jpegPhoto:: %s\n", base64.StdEncoding.EncodeToString(p.Photo))
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// needsBase64 reports whether an LDIF value must be base64-encoded (RFC 2849 SAFE-STRING).
func needsBase64(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == ' ' || s[0] == ':' || s[0] == '<' || s[len(s)-1] == ' ' {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c == '\n' || c == '\r' || c >= 0x80 {
			return true
		}
	}
	return false
}

func uuidFrom(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}

var fold = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ä", "ae", "ã", "a", "å", "aa", "æ", "ae", "ç", "c", "č", "c",
	"ć", "c", "é", "e", "è", "e", "ê", "e", "ë", "e", "ě", "e", "ę", "e", "í", "i", "ì", "i",
	"î", "i", "ï", "i", "ı", "i", "ñ", "n", "ń", "n", "ó", "o", "ò", "o", "ô", "o", "ö", "oe",
	"õ", "o", "ø", "oe", "ő", "o", "ú", "u", "ù", "u", "û", "u", "ü", "ue", "ů", "u", "ý", "y",
	"ž", "z", "ź", "z", "ż", "z", "š", "s", "ś", "s", "ş", "s", "ř", "r", "ğ", "g", "ł", "l",
	"ľ", "l", "đ", "d", "ð", "d", "þ", "th", "ß", "ss", "ť", "t", "ễ", "e", "ầ", "a", "ă", "a",
	"ǎ", "a", "ạ", "a", "'", "",
)

// asciiFold turns a name into the ASCII a uid would use; scripts it cannot fold become "x".
func asciiFold(s string) string {
	s = fold.Replace(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r > 0x7f:
			// Non-Latin scripts: a uid is ASCII, so use a stable stand-in per rune.
			fmt.Fprintf(&b, "u%x", r)
		}
	}
	return b.String()
}

// photo returns a small real JPEG of one colour.
func photo(r *rand.Rand) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 24, 24))
	c := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
	for y := 0; y < 24; y++ {
		for x := 0; x < 24; x++ {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 60}); err != nil {
		panic(err) // encoding to memory cannot fail
	}
	return buf.Bytes()
}
