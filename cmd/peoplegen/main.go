// Command peoplegen writes a realistic, reproducible directory of people as LDIF: the
// example directory of the README, and the large ones for tests and benchmarks.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/peoplesync/peoplesync/examples/peoplegen"
)

func main() {
	n := flag.Int("n", 250, "number of people")
	seed := flag.Uint64("seed", 42, "random seed: the same seed gives the same people")
	out := flag.String("o", "-", "output file, - for standard output")
	flag.Parse()
	if err := run(*n, *seed, *out); err != nil {
		fmt.Fprintln(os.Stderr, "peoplegen:", err)
		os.Exit(1)
	}
}

func run(n int, seed uint64, out string) error {
	o := peoplegen.Defaults(n)
	o.Seed = seed
	w := os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return fmt.Errorf("create output: %w", err)
		}
		defer f.Close()
		w = f
	}
	if err := peoplegen.WriteLDIF(w, o, peoplegen.Generate(o)); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return w.Sync()
}
