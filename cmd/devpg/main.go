// Command devpg runs a persistent local PostgreSQL for `make run` and the benchmarks.
//
//	devpg up   [--dir .dev/postgres] [--port 54329]   start it (or find it running), print the DSN
//	devpg down [--dir .dev/postgres]                  stop it
//
// up creates the database "peoplesync" if missing and prints its DSN alone on stdout, so
// that `DSN=$(devpg up)` works. Both commands are idempotent.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/peoplesync/peoplesync/engine/store/pgtest"
)

// Database is the database devpg up creates and prints the DSN of.
const Database = "peoplesync"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "devpg:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, "usage: devpg up [--dir DIR] [--port PORT] | devpg down [--dir DIR]")
	}
	if len(args) == 0 {
		usage()
		return fmt.Errorf("missing command")
	}
	cmd := args[0]
	fs := flag.NewFlagSet("devpg "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".dev/postgres", "data directory of the server")
	var port *int
	switch cmd {
	case "up":
		port = fs.Int("port", 54329, "TCP port on 127.0.0.1 (0 picks a free one)")
	case "down":
	default:
		usage()
		return fmt.Errorf("unknown command %q", cmd)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		usage()
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if cmd == "down" {
		return pgtest.StopDir(*dir)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	s, err := pgtest.Start(ctx, *dir, *port)
	if err != nil {
		return err
	}
	if err := pgtest.CreateDatabase(ctx, s.DSN("postgres"), Database); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, s.DSN(Database))
	return err
}
