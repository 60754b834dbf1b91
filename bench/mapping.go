package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
)

// The mapping time limit (issue 12 §4): every call into a mapping module is limited by
// default, through the countdown that engine/mapper instruments a module with. Its cost
// is measured here with the mapper's own benchmark, BenchmarkDefaultModule: the default
// module, instrumented (what every run uses) and as it is (no limit: a looping module
// could not be stopped), in alternating rounds, so that both see the same machine.

// mappingCases are the sub-benchmarks compared, the default first.
var mappingCases = []string{"countdown", "no_interruption"}

// mappingRound is one round's measurement of one case.
type mappingRound struct {
	perSecond    float64 // records per wall second, every instance busy
	perCPUSecond float64 // records per CPU second of the process
}

// mappingTimeLimit builds engine/mapper's test binary, runs BenchmarkDefaultModule's
// cases in rounds alternated rounds times, and prints a table of medians with the
// limit's cost per round.
func (w *world) mappingTimeLimit(ctx context.Context, out io.Writer, rounds int) error {
	if rounds <= 0 {
		return nil
	}
	log.Printf("mapping time limit: %d alternated rounds of BenchmarkDefaultModule", rounds)
	bin := filepath.Join(w.dir, "mapper.test")
	if b, err := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, "./engine/mapper").CombinedOutput(); err != nil {
		return fmt.Errorf("build the mapper's benchmark: %v\n%s", err, b)
	}
	got := make(map[string][]mappingRound)
	for r := range rounds {
		// Alternate which case goes first, so neither always runs on a warmer machine.
		order := append([]string(nil), mappingCases...)
		if r%2 == 1 {
			sort.Sort(sort.Reverse(sort.StringSlice(order)))
		}
		for _, c := range order {
			m, err := runMapperBench(ctx, bin, c)
			if err != nil {
				return err
			}
			log.Printf("  round %d %-16s %8.0f records/s %8.0f records/cpu-s", r+1, c, m.perSecond, m.perCPUSecond)
			got[c] = append(got[c], m)
		}
	}
	printMappingTable(out, rounds, got)
	return nil
}

// benchLine matches a line of BenchmarkDefaultModule's output for one case; metric
// finds a reported metric in it (go test prints them in the order of their units).
var (
	benchLine = regexp.MustCompile(`^BenchmarkDefaultModule/(\S+?)(?:-\d+)?\s+\d+\s`)
	metric    = func(unit string) *regexp.Regexp {
		return regexp.MustCompile(`([\d.]+) ` + regexp.QuoteMeta(unit) + `(\s|$)`)
	}
	perSecond = metric("records/s")
	perCPU    = metric("records/cpu-s")
)

// runMapperBench runs one case of BenchmarkDefaultModule once and returns its metrics.
func runMapperBench(ctx context.Context, bin, name string) (mappingRound, error) {
	cmd := exec.CommandContext(ctx, bin, "-test.run", "^$",
		"-test.bench", "^BenchmarkDefaultModule/"+name+"$", "-test.benchtime", "3s")
	cmd.Dir = filepath.Join("engine", "mapper") // its tests find the modules' sources from there
	b, err := cmd.CombinedOutput()
	if err != nil {
		return mappingRound{}, fmt.Errorf("BenchmarkDefaultModule/%s: %v\n%s", name, err, b)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if m := benchLine.FindStringSubmatch(line); m == nil || m[1] != name {
			continue
		}
		ws, cs := perSecond.FindStringSubmatch(line), perCPU.FindStringSubmatch(line)
		if ws == nil || cs == nil {
			break
		}
		var r mappingRound
		var err1, err2 error
		r.perSecond, err1 = strconv.ParseFloat(ws[1], 64)
		r.perCPUSecond, err2 = strconv.ParseFloat(cs[1], 64)
		if err1 != nil || err2 != nil {
			break
		}
		return r, nil
	}
	return mappingRound{}, fmt.Errorf("BenchmarkDefaultModule/%s printed no records/s:\n%s", name, b)
}

// printMappingTable prints the medians of each case and the limit's cost: the median of
// the rounds' own ratios, steadier on a shared machine than the ratio of the medians.
func printMappingTable(out io.Writer, rounds int, got map[string][]mappingRound) {
	limited, free := got[mappingCases[0]], got[mappingCases[1]]
	var costs []float64
	for i := range limited {
		costs = append(costs, 1-limited[i].perCPUSecond/free[i].perCPUSecond)
	}
	fmt.Fprintf(out, "\nmapping time limit, the default module, %d alternated rounds (BenchmarkDefaultModule)\n\n", rounds)
	fmt.Fprintf(out, "| mapping | records/s | records/CPU-s | cost of the limit |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(out, "| limited, 10 s a call (the default) | %.0f | %.0f | %.0f%% (rounds %s) |\n",
		medianOf(limited, func(m mappingRound) float64 { return m.perSecond }),
		medianOf(limited, func(m mappingRound) float64 { return m.perCPUSecond }),
		100*medianFloat(costs), percentList(costs))
	fmt.Fprintf(out, "| no limit (cannot stop a looping module) | %.0f | %.0f | |\n",
		medianOf(free, func(m mappingRound) float64 { return m.perSecond }),
		medianOf(free, func(m mappingRound) float64 { return m.perCPUSecond }))
}

func medianOf(ms []mappingRound, f func(mappingRound) float64) float64 {
	xs := make([]float64, len(ms))
	for i, m := range ms {
		xs[i] = f(m)
	}
	return medianFloat(xs)
}

func medianFloat(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func percentList(xs []float64) string {
	var b bytes.Buffer
	for i, x := range xs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%.0f%%", 100*x)
	}
	return b.String()
}
