// Command trapmap is a test mapping module: it maps a few attributes like the default
// module, and for the person whose uid is "trap.me" it recurses without end, so the guest
// runs out of stack and memory and traps (an unrecoverable runtime fatal, not a panic).
package main

import (
	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

func main() {}

func init() { mapping.Handle(Map) }

// Map maps uid, names and mail; it traps for uid "trap.me".
func Map(r *mapping.Record, _ *mapping.Settings) (*profile.Profile, error) {
	uid := r.First("uid")
	if uid == "trap.me" {
		return nil, mapping.Skip(string(rune(recurse(1))))
	}
	p := &profile.Profile{Active: true}
	p.Set(profile.UserName, uid)
	p.Set(profile.Email, r.First("mail"))
	p.Set(profile.GivenName, r.First("givenName"))
	p.Set(profile.FamilyName, r.First("sn"))
	p.Set(profile.DisplayName, r.First("displayName"))
	p.Set(profile.Title, r.First("title"))
	p.Manager = r.First("manager")
	return p, nil
}

// recurse never returns: each frame holds a buffer, so the stack grows until the runtime
// gives up.
func recurse(n int) int {
	var buf [256]byte
	buf[n%256] = byte(n)
	return recurse(n+1) + int(buf[(n+1)%256])
}
