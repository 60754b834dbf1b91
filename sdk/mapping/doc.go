// Package mapping is the guest-side SDK for peoplesync mapping modules: small Go programs,
// compiled to WebAssembly, that turn one directory record into one People Service profile.
//
// # Writing a module
//
// A module is a package main that registers its mapping function when the module starts:
//
//	package main
//
//	import (
//		"github.com/peoplesync/peoplesync/sdk/mapping"
//		"github.com/peoplesync/peoplesync/sdk/profile"
//	)
//
//	func main() {}
//
//	// init is the one place a reactor module can register: the host runs package
//	// initialisation (_initialize) but never main.
//	func init() { mapping.Handle(Map) }
//
//	func Map(r *mapping.Record, s *mapping.Settings) (*profile.Profile, error) {
//		if r.First("uid") == "" {
//			return nil, mapping.Skip("no uid")
//		}
//		p := &profile.Profile{Active: true}
//		p.Set(profile.UserName, r.First("uid"))
//		return p, nil
//	}
//
// A module whose settings need checking, or turning into something (a table, a
// pattern), parses them once per configuration with WithSettings and registers the
// check it returns with HandleConfigure. The keys its parse reads are the settings it
// declares: any other key fails the check (Settings.CheckKnown).
//
// Build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o mappings/NAME/NAME.wasm ./mappings/NAME
//
// Importing this package adds the exports below; the module declares nothing else. The
// mapping function runs natively too (NewRecord, ParseSettings), so test it with go test.
//
// Map returns a profile, or Skip(reason) for a record that is not a person to keep, or
// any other error for a record it cannot map. A panic inside Map becomes that record's
// error. Map must set Active itself: the zero Profile is inactive.
//
// # ABI, version 1
//
// A module exports four functions (i32 and i64 are WebAssembly value types; a "packed"
// i64 is ptr<<32 | len, addressing guest memory):
//
//	peoplesync_abi_version() i32           returns ABIVersion (1)
//	peoplesync_alloc(size i32) i32         returns a fresh guest buffer of size bytes for
//	                                       the host to write its next input into
//	peoplesync_configure(ptr, len i32) i64 settings (a JSON object, or empty) at ptr;
//	                                       returns 0, or a packed UTF-8 error message
//	peoplesync_map(ptr, len i32) i64       a wire-encoded records batch at ptr; returns
//	                                       the packed wire-encoded results batch
//
// and, being a Go reactor, _initialize, which the host calls once per instance before
// anything else. Per call the host calls peoplesync_alloc, writes its input into the
// buffer, then calls peoplesync_configure or peoplesync_map with the buffer's address and
// length. Nobody writes to an input buffer after that, so the guest decodes strings in
// place. The output of a call stays valid until the next call into the instance; the host
// copies it out before calling again. An instance is single-threaded: the host never calls
// it concurrently.
//
// Records and results use package wire's encoding: one result per record, in order. A
// trap (an unrecovered fault, running out of memory, proc_exit) leaves the instance
// unusable; the host discards it and maps the batch again, one record per fresh instance,
// so that only the faulty record fails. The module gets no files, network or environment,
// a fake clock and fake randomness, and memory and time caps set by the host.
//
// The ABI version changes whenever the exports' meaning or the wire format does; the host
// refuses a module with another version at load time.
package mapping

// ABIVersion is the version of the mapping ABI this SDK implements.
const ABIVersion = 1
