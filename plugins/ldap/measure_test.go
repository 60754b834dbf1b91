package ldap_test

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMeasureFullSync measures a full sync of PEOPLESYNC_LDAP_MEASURE generated people
// (e.g. 100000) from a local slapd into a local Postgres through the engine, against
// ldapsearch dumping the same entries with paging. It is a measurement, not part of the
// normal run:
//
//	PEOPLESYNC_LDAP_MEASURE=100000 go test ./plugins/ldap -run TestMeasureFullSync -v -timeout 30m
func TestMeasureFullSync(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PEOPLESYNC_LDAP_MEASURE"))
	if n <= 0 {
		t.Skip("a measurement: set PEOPLESYNC_LDAP_MEASURE=100000 to run it")
	}
	start := time.Now()
	e := newSyncEnv(t, n)
	t.Logf("generated and slapadd-loaded %d people in %s", n, time.Since(start).Round(time.Millisecond))

	srv := e.dir.srv
	start = time.Now()
	cmd := exec.Command("ldapsearch", "-LLL", "-x", "-H", srv.URL(), "-D", srv.BindDN(), "-w", srv.Password(),
		"-b", peopleDN, "-E", "pr=500/noprompt", "(objectClass=inetOrgPerson)", "*", "entryUUID")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ldapsearch: %v", err)
	}
	dump := time.Since(start)
	if got := strings.Count(string(out), "\ndn: ") + 1; got != n {
		t.Fatalf("ldapsearch dumped %d entries, want %d", got, n)
	}
	t.Logf("ldapsearch -E pr=500/noprompt (the server's largest page): %d entries in %s (%.0f/s)", n, dump.Round(time.Millisecond), float64(n)/dump.Seconds())

	cfg := e.config("ldap", srv.Password(), "page_size = 500")
	start = time.Now()
	res, err := e.run(cfg)
	if err != nil || res.Created != int64(n) {
		t.Fatalf("sync: %+v, %v", res, err)
	}
	full := time.Since(start)
	t.Logf("first full sync (creates): %d entries in %s (%.0f/s)", n, full.Round(time.Millisecond), float64(n)/full.Seconds())

	start = time.Now()
	res, err = e.run(cfg)
	if err != nil || res.Skipped != int64(n) {
		t.Fatalf("second sync: %+v, %v", res, err)
	}
	again := time.Since(start)
	t.Logf("second full sync (unchanged): %d entries in %s (%.0f/s)", n, again.Round(time.Millisecond), float64(n)/again.Seconds())
}
