// Command trap is a test mapping that misbehaves on request: by record ID it panics
// ("panic"), panics where no recover reaches ("gopanic"), exits ("exit"), loops forever
// ("loop"), allocates without bound ("oom") or as many MiB as its attribute "mib" says
// ("alloc"), fails ("fail") or skips ("skip"). Any other
// record maps to a profile whose user name is its "uid".
package main

import (
	"errors"
	"os"
	"runtime"
	"strconv"

	"github.com/peoplesync/peoplesync/sdk/mapping"
	"github.com/peoplesync/peoplesync/sdk/profile"
)

func main() {}

func init() {
	mapping.Handle(Map)
	mapping.HandleConfigure(func(s *mapping.Settings) error {
		if s.Bool("reject", false) {
			return errors.New("reject is set")
		}
		return nil
	})
}

var sink [][]byte

// Map misbehaves as the record's ID asks.
func Map(r *mapping.Record, s *mapping.Settings) (*profile.Profile, error) {
	switch r.ID {
	case "panic":
		panic("boom")
	case "gopanic":
		done := make(chan struct{})
		go func() {
			defer close(done)
			panic("boom in a goroutine")
		}()
		<-done
	case "exit":
		os.Exit(3)
	case "loop":
		n := 0
		for {
			n++
			if n < 0 {
				runtime.KeepAlive(n)
			}
		}
	case "oom":
		for {
			sink = append(sink, make([]byte, 1<<20))
		}
	case "alloc":
		mib, _ := strconv.Atoi(r.First("mib"))
		b := make([]byte, mib<<20)
		for i := range b {
			b[i] = byte(i)
		}
		sink = append(sink, b)
		sink = nil
	case "fail":
		return nil, errors.New("no good")
	case "skip":
		return nil, mapping.Skip("asked to skip")
	}
	p := &profile.Profile{Active: true}
	p.Set(profile.UserName, r.First("uid"))
	p.Set(profile.Organization, s.String("org", ""))
	return p, nil
}
