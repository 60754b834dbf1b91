package ldap_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/peoplesync/peoplesync/config"
	"github.com/peoplesync/peoplesync/engine"
	"github.com/peoplesync/peoplesync/engine/mapper/mappertest"
	"github.com/peoplesync/peoplesync/engine/setup"
	"github.com/peoplesync/peoplesync/engine/store"
	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/engine/store/postgres"
	"github.com/peoplesync/peoplesync/plugins"
	"github.com/peoplesync/peoplesync/plugins/ldap"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// TestMain doubles as the connector subprocess, as peoplesync re-executes itself.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "plugin" {
		if os.Args[2] == "ldapkill" {
			connector.Serve(&killer{Connector: ldap.New()})
			os.Exit(0)
		}
		if err := plugins.Serve(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	pgtest.Main(m)
}

// killer is the LDAP connector with two more settings: after kill_after records it
// SIGKILLs the process kill_pid (the test's slapd), mid-search.
type killer struct {
	connector.Connector
	pid, after int64
}

func (k *killer) Describe(ctx context.Context) (connector.Description, error) {
	d, err := k.Connector.Describe(ctx)
	d.Name = "ldapkill"
	d.Schema.Attributes = append(d.Schema.Attributes,
		connector.AttributeSchema{Name: "kill_pid", Type: connector.Number, Required: true},
		connector.AttributeSchema{Name: "kill_after", Type: connector.Number, Required: true})
	return d, err
}

func (k *killer) Configure(ctx context.Context, raw json.RawMessage) (connector.Diagnostics, error) {
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	pid, _ := cfg["kill_pid"].(float64)
	after, _ := cfg["kill_after"].(float64)
	k.pid, k.after = int64(pid), int64(after)
	delete(cfg, "kill_pid")
	delete(cfg, "kill_after")
	rest, _ := json.Marshal(cfg)
	return k.Connector.Configure(ctx, rest)
}

func (k *killer) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	var n int64
	return k.Connector.Read(ctx, req, func(r connector.Record) error {
		if n++; n == k.after {
			_ = syscall.Kill(int(k.pid), syscall.SIGKILL)
		}
		return emit(r)
	})
}

var (
	moduleOnce sync.Once
	modulePath string
	moduleErr  error
)

// defaultModule builds mappings/default once per test binary.
func defaultModule(t *testing.T) string {
	t.Helper()
	moduleOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ldap-e2e-modules-")
		if err != nil {
			moduleErr = err
			return
		}
		modulePath = filepath.Join(dir, "default.wasm")
		moduleErr = mappertest.BuildFile("../../mappings/default", modulePath)
	})
	if moduleErr != nil {
		t.Fatalf("build the default mapping: %v", moduleErr)
	}
	return modulePath
}

// syncEnv is one end-to-end test's world: a directory, a fresh database, a config.
type syncEnv struct {
	t     *testing.T
	dir   *directory
	dsn   string
	store *postgres.Store
	logs  *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newSyncEnv(t *testing.T, n int) *syncEnv {
	t.Helper()
	e := &syncEnv{t: t, dir: newDirectory(t, n), dsn: pgtest.NewDatabase(t), logs: &lockedBuffer{}}
	st, err := postgres.Open(t.Context(), e.dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.store = st
	return e
}

// config writes and loads a config whose connector reads the whole suffix.
func (e *syncEnv) config(plugin, password, extra string) *config.Config {
	e.t.Helper()
	srv := e.dir.srv
	if !strings.Contains(extra, "page_size") {
		extra += "\n    page_size = 200"
	}
	src := fmt.Sprintf(`
store {
  url = "postgres://unused"
}
connector "corp" {
  plugin = %q
  config {
    url           = %q
    start_tls     = true
    ca_file       = %q
    bind_dn       = %q
    bind_password = %q
    base_dn       = %q
    %s
  }
}
mapping "m" {
  module   = %q
  settings = { email_domain = "example.com", default_country_code = "49" }
}
sync "people" {
  connector = connector.corp
  mapping   = mapping.m
  schedule  = "@hourly"
}
`, plugin, srv.URL(), srv.CAFile(), srv.BindDN(), password, srv.BaseDN(), extra, defaultModule(e.t))
	path := filepath.Join(e.t.TempDir(), "sync.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		e.t.Fatal(err)
	}
	cfg, diags := config.Load(path)
	if diags.HasErrors() {
		e.t.Fatalf("config: %s", diags.Error())
	}
	return cfg
}

func (e *syncEnv) run(cfg *config.Config) (engine.Result, error) {
	e.t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prep, diags := setup.Sync(ctx, cfg, "people", setup.Options{Executable: os.Args[0], Logger: logger})
	if diags.HasErrors() {
		e.t.Fatalf("setup: %s", diags.Error())
	}
	defer prep.Close(ctx)
	eng := &engine.Engine{Store: e.store, Holder: "test", Logger: logger}
	return eng.Run(ctx, prep.Sync, engine.Options{})
}

func (e *syncEnv) live() map[string]store.StoredProfile {
	e.t.Helper()
	ids := make([]string, len(e.dir.people))
	for i, p := range e.dir.people {
		ids[i] = p.UUID
	}
	got, err := e.store.Profiles(context.Background(), "people", ids)
	if err != nil {
		e.t.Fatal(err)
	}
	for id, p := range got {
		if p.DeletedAt != nil {
			delete(got, id)
		}
	}
	return got
}

// linkDN reads the DN the store keeps for an external ID.
func (e *syncEnv) linkDN(externalID string) string {
	e.t.Helper()
	conn, err := pgx.Connect(context.Background(), e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var dn string
	if err := conn.QueryRow(context.Background(),
		`SELECT dn FROM profile_links WHERE sync_name = 'people' AND external_id = $1`, externalID).Scan(&dn); err != nil {
		e.t.Fatalf("link of %s: %v", externalID, err)
	}
	return dn
}

func TestEngineEndToEnd(t *testing.T) {
	t.Parallel()
	const n = 800 // more than the server's size limit of 500
	e := newSyncEnv(t, n)
	cfg := e.config("ldap", e.dir.srv.Password(), "")

	first, err := e.run(cfg)
	if err != nil || first.Created != n || first.Status != store.StatusSucceeded {
		t.Fatalf("first sync: %+v, %v", first, err)
	}
	before := e.live()
	if len(before) != n {
		t.Fatalf("%d live profiles, want %d", len(before), n)
	}

	// Rename and move one person: same entryUUID, new DN. Same profile.
	p := e.dir.people[5]
	modify(t, e.dir.srv, fmt.Sprintf(`dn: ou=movers,dc=example,dc=com
changetype: add
objectClass: organizationalUnit
ou: movers

dn: %s
changetype: modrdn
newrdn: uid=%s.renamed
deleteoldrdn: 1
newsuperior: ou=movers,dc=example,dc=com
`, p.DN(e.dir.opts.BaseDN), p.UID))
	second, err := e.run(cfg)
	if err != nil || second.Created != 0 || second.Deleted != 0 || second.Processed != n {
		t.Fatalf("sync after the move: %+v, %v", second, err)
	}
	after := e.live()
	if got, want := after[p.UUID].ProfileID, before[p.UUID].ProfileID; got != want || got == "" {
		t.Errorf("moved person's profile %q, want the same profile %q", got, want)
	}
	if dn, want := e.linkDN(p.UUID), "uid="+p.UID+".renamed,ou=movers,dc=example,dc=com"; !strings.EqualFold(dn, want) {
		t.Errorf("stored DN %q, want %q", dn, want)
	}

	// A wrong password fails the run and deletes nothing; the password shows nowhere.
	const wrong = "WrongPassword-e2e-7781"
	res, err := e.run(e.config("ldap", wrong, ""))
	if err == nil || res.Deleted != 0 {
		t.Fatalf("sync with a wrong password: %+v, %v; want a failed run that deletes nothing", res, err)
	}
	for what, text := range map[string]string{"error": err.Error(), "message": res.Message, "logs": e.logs.String()} {
		if strings.Contains(text, wrong) || strings.Contains(text, e.dir.srv.Password()) {
			t.Errorf("the password appears in the %s", what)
		}
	}
	if !strings.Contains(err.Error()+res.Message, "invalid credentials") {
		t.Errorf("the failure does not say why: %v / %s", err, res.Message)
	}
	if got := len(e.live()); got != n {
		t.Errorf("%d live profiles after the failed run, want %d", got, n)
	}

	// slapd killed mid-search: the run fails and deletes nothing.
	killCfg := e.config("ldapkill", e.dir.srv.Password(), fmt.Sprintf("kill_pid = %d\n    kill_after = 250", e.dir.srv.PID()))
	res, err = e.run(killCfg)
	if err == nil || res.Deleted != 0 || res.Status == store.StatusSucceeded {
		t.Fatalf("sync with slapd killed mid-search: %+v, %v; want a failed run that deletes nothing", res, err)
	}
	if got := len(e.live()); got != n {
		t.Errorf("%d live profiles after the killed run, want %d", got, n)
	}
}
