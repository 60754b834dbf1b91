// Package sambatest starts throwaway Active Directory domain controllers (Debian's
// samba-ad-dc, Samba 4.17) for tests: a real AD that takes simple binds as a DN, a user
// principal name (svc@REALM) or a down-level logon name (DOMAIN\svc), keeps objectGUID and
// uSNChanged, and answers the root DSE as AD does.
//
// Each Server provisions its own domain in a temporary directory (samba-tool domain
// provision, about 5 s on a 2-core machine) and runs `samba -i` with only its LDAP
// service. Samba has no setting for its LDAP ports (389, 636, 3268, 3269), so instead of
// free ports each server listens on its own loopback address, 127.x.y.z (Linux routes all
// of 127.0.0.0/8 to lo): two test processes never fight over a port, and no lock is
// needed. Samba's AD DC runs as root only, and port 389 needs root too.
//
// Plain LDAP simple binds are allowed (ldap server require strong auth = no), so tests
// use ldap:// with allow_insecure_bind.
//
//	srv, err := sambatest.Start(ctx, sambatest.Options{})
//	defer srv.Stop()
//	dn, err := srv.AddUser(ctx, sambatest.User{Name: "alice", GivenName: "Alice", Surname: "Boss"})
//	url, upn := srv.URL(), srv.ServiceUPN()
package sambatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// Binaries are where Debian's samba, samba-ad-dc and samba-ad-provision put them.
const (
	sambaPath     = "/usr/sbin/samba"
	sambaToolPath = "/usr/bin/samba-tool"
	provisionDir  = "/usr/share/samba/setup/ad-schema"
)

// ErrNoSamba says Samba's AD domain controller is not installed.
var ErrNoSamba = errors.New("sambatest: Samba's AD DC is not installed: apt-get install samba samba-ad-dc " +
	"samba-ad-provision winbind (with a policy-rc.d that keeps the system's samba from starting)")

// Options shape a test domain. The zero value is usable.
type Options struct {
	// Realm is the Kerberos realm, the upper-case DNS domain; default CORP.EXAMPLE.COM.
	Realm string
	// Domain is the NetBIOS domain name; default CORP.
	Domain string
	// Password is the service account's password; default "Sync-Secret-1" (AD's
	// password policy wants three character classes).
	Password string
}

// User is a person to add to the domain's CN=Users container.
type User struct {
	Name       string // sAMAccountName and CN; required
	GivenName  string
	Surname    string
	Mail       string
	Manager    string // DN
	Department string
	Parent     string // DN of the container; default UsersDN
}

// Server is a running (or stopped) throwaway domain controller.
type Server struct {
	opts      Options
	dir       string
	conf      string
	ip        string
	adminPass string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *bytes.Buffer
}

// Start provisions a new domain in a temporary directory, creates the service account
// "svc", and starts the domain controller. Call Stop when done; it removes the directory.
func Start(ctx context.Context, opts Options) (*Server, error) {
	for _, p := range []string{sambaPath, sambaToolPath, provisionDir} {
		if _, err := os.Stat(p); err != nil {
			return nil, ErrNoSamba
		}
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("sambatest: Samba's AD DC and its port 389 need root")
	}
	if opts.Realm == "" {
		opts.Realm = "CORP.EXAMPLE.COM"
	}
	opts.Realm = strings.ToUpper(opts.Realm)
	if opts.Domain == "" {
		opts.Domain = "CORP"
	}
	if opts.Password == "" {
		opts.Password = "Sync-Secret-1"
	}
	dir, err := os.MkdirTemp("", "sambatest-")
	if err != nil {
		return nil, fmt.Errorf("sambatest: %w", err)
	}
	s := &Server{opts: opts, dir: dir, conf: filepath.Join(dir, "etc", "smb.conf"), adminPass: "Admin-Secret-1"}
	if err := s.provision(ctx); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if s.ip, err = freeLoopback(); err == nil {
			if err = s.configure(); err == nil {
				err = s.start(ctx)
			}
		}
		if err == nil {
			return s, nil
		}
		if attempt == 3 || ctx.Err() != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
}

// provision creates the domain and, offline, the service account. The host name is
// fixed: provisioning fails on a machine whose name is longer than a NetBIOS name.
func (s *Server) provision(ctx context.Context) error {
	if err := s.run(ctx, sambaToolPath, "domain", "provision", "--targetdir="+s.dir,
		"--use-rfc2307", "--realm="+s.opts.Realm, "--domain="+s.opts.Domain, "--host-name=dc1",
		"--server-role=dc", "--dns-backend=NONE", "--adminpass="+s.adminPass,
		"--option=interfaces=127.0.0.1/8", "--option=bind interfaces only=yes"); err != nil {
		return err
	}
	// The provisioned smb.conf is replaced by configure, which keeps what matters here.
	if err := s.configureFor("127.0.0.1"); err != nil {
		return err
	}
	return s.run(ctx, sambaToolPath, "user", "create", "svc", s.opts.Password, "-s", s.conf)
}

func (s *Server) configure() error { return s.configureFor(s.ip) }

func (s *Server) configureFor(ip string) error {
	conf := fmt.Sprintf(`# Generated by sambatest.
[global]
	netbios name = DC1
	realm = %[2]s
	workgroup = %[3]s
	server role = active directory domain controller
	server services = ldap
	interfaces = %[4]s/8
	bind interfaces only = yes
	ldap server require strong auth = no
	private dir = %[1]s/private
	state directory = %[1]s/state
	cache directory = %[1]s/cache
	lock directory = %[1]s
	pid directory = %[1]s
	binddns dir = %[1]s/bind-dns
	ncalrpc dir = %[1]s/ncalrpc
	log file = %[1]s/log.%%m
	idmap_ldb:use rfc2307 = yes
`, s.dir, s.opts.Realm, s.opts.Domain, ip)
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("sambatest: %w", err)
	}
	return nil
}

func (s *Server) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("sambatest: %s %s: %w\n%s", filepath.Base(name), args[0], err, tail(out.Bytes(), 2000))
	}
	return nil
}

// start runs samba in the foreground with one process (-M single) and waits until its
// LDAP server answers an anonymous read of the root DSE.
func (s *Server) start(ctx context.Context) error {
	cmd := exec.Command(sambaPath, "-i", "-M", "single", "-s", s.conf, "--debug-stdout", "-d", "1")
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// samba -i ends when its stdin does; hold a pipe open for its lifetime.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("sambatest: %w", err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("sambatest: start samba: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = stdin.Close(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done, s.out = cmd, done, out
	s.mu.Unlock()

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("sambatest: samba exited at start: %s\n%s", cmd.ProcessState, tail(out.Bytes(), 2000))
		default:
		}
		if err := s.ping(); err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return fmt.Errorf("sambatest: samba did not answer LDAP on %s: %s", s.URL(), tail(out.Bytes(), 2000))
		}
		time.Sleep(20 * time.Millisecond) // polling for the LDAP server, with a deadline
	}
}

// ping reads the root DSE anonymously.
func (s *Server) ping() error {
	conn, err := goldap.DialURL(s.URL(), goldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetTimeout(2 * time.Second)
	_, err = conn.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"defaultNamingContext"}, nil))
	return err
}

// stop ends a running server and waits for it (and the process group) to exit.
func (s *Server) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Stop shuts the server down and removes its directory. It is idempotent.
func (s *Server) Stop() {
	s.stop()
	_ = os.RemoveAll(s.dir)
}

// AddUser adds u under CN=Users, bound as the domain's Administrator, and returns its DN.
// The account has no password, so AD keeps it disabled; it is a person to read, not to
// bind as.
func (s *Server) AddUser(ctx context.Context, u User) (string, error) {
	if u.Name == "" {
		return "", errors.New("sambatest: AddUser: a user needs a Name")
	}
	// go-ldap's Add takes no context: check it first, and bound the calls with a timeout.
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("sambatest: AddUser: %w", err)
	}
	conn, err := goldap.DialURL(s.URL())
	if err != nil {
		return "", fmt.Errorf("sambatest: AddUser: %w", err)
	}
	defer conn.Close()
	conn.SetTimeout(10 * time.Second)
	if err := conn.Bind(s.AdminUPN(), s.adminPass); err != nil {
		return "", fmt.Errorf("sambatest: AddUser: bind as administrator: %w", err)
	}
	parent := u.Parent
	if parent == "" {
		parent = s.UsersDN()
	}
	dn := "CN=" + goldap.EscapeDN(u.Name) + "," + parent
	req := goldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	req.Attribute("sAMAccountName", []string{u.Name})
	req.Attribute("userPrincipalName", []string{u.Name + "@" + strings.ToLower(s.opts.Realm)})
	for attr, v := range map[string]string{"givenName": u.GivenName, "sn": u.Surname, "mail": u.Mail,
		"manager": u.Manager, "department": u.Department} {
		if v != "" {
			req.Attribute(attr, []string{v})
		}
	}
	if err := conn.Add(req); err != nil {
		return "", fmt.Errorf("sambatest: AddUser %s: %w", u.Name, err)
	}
	return dn, nil
}

// AddOU adds an organizational unit under the domain's base DN and returns its DN: a
// subtree of its own for one test's people.
func (s *Server) AddOU(ctx context.Context, name string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("sambatest: AddOU: %w", err)
	}
	conn, err := goldap.DialURL(s.URL())
	if err != nil {
		return "", fmt.Errorf("sambatest: AddOU: %w", err)
	}
	defer conn.Close()
	conn.SetTimeout(10 * time.Second)
	if err := conn.Bind(s.AdminUPN(), s.adminPass); err != nil {
		return "", fmt.Errorf("sambatest: AddOU: bind as administrator: %w", err)
	}
	dn := "OU=" + goldap.EscapeDN(name) + "," + s.BaseDN()
	req := goldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "organizationalUnit"})
	if err := conn.Add(req); err != nil {
		return "", fmt.Errorf("sambatest: AddOU %s: %w", name, err)
	}
	return dn, nil
}

// DisableService disables the service account, as an AD admin does with
// userAccountControl's ACCOUNTDISABLE bit, so that its binds fail.
func (s *Server) DisableService(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sambatest: DisableService: %w", err)
	}
	conn, err := goldap.DialURL(s.URL())
	if err != nil {
		return fmt.Errorf("sambatest: DisableService: %w", err)
	}
	defer conn.Close()
	conn.SetTimeout(10 * time.Second)
	if err := conn.Bind(s.AdminUPN(), s.adminPass); err != nil {
		return fmt.Errorf("sambatest: DisableService: bind as administrator: %w", err)
	}
	m := goldap.NewModifyRequest(s.ServiceDN(), nil)
	m.Replace("userAccountControl", []string{"514"}) // NORMAL_ACCOUNT | ACCOUNTDISABLE
	if err := conn.Modify(m); err != nil {
		return fmt.Errorf("sambatest: DisableService: %w", err)
	}
	return nil
}

// URL is the plain ldap:// URL of the server's own loopback address.
func (s *Server) URL() string { return "ldap://" + s.ip }

// BaseDN is the domain's naming context, e.g. DC=corp,DC=example,DC=com.
func (s *Server) BaseDN() string {
	return "DC=" + strings.Join(strings.Split(strings.ToLower(s.opts.Realm), "."), ",DC=")
}

// UsersDN is the CN=Users container, where the service account and AddUser's people live.
func (s *Server) UsersDN() string { return "CN=Users," + s.BaseDN() }

// ServiceDN is the service account's DN.
func (s *Server) ServiceDN() string { return "CN=svc," + s.UsersDN() }

// ServiceUPN is the service account's user principal name, svc@REALM.
func (s *Server) ServiceUPN() string { return "svc@" + s.opts.Realm }

// ServiceDownLevel is the service account's down-level logon name, DOMAIN\svc.
func (s *Server) ServiceDownLevel() string { return s.opts.Domain + `\svc` }

// Password is the service account's password.
func (s *Server) Password() string { return s.opts.Password }

// AdminUPN is the domain Administrator's user principal name, for changes in tests.
func (s *Server) AdminUPN() string { return "Administrator@" + s.opts.Realm }

// AdminPassword is the domain Administrator's password.
func (s *Server) AdminPassword() string { return s.adminPass }

// freeLoopback picks a random loopback address (outside 127.0.0.0/16, where the hosts
// file and other servers live) on which port 389 was free a moment ago.
func freeLoopback() (string, error) {
	var last error
	for range 10 {
		ip := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254))
		l, err := net.Listen("tcp", ip+":389")
		if err != nil {
			last = err
			continue
		}
		_ = l.Close()
		return ip, nil
	}
	return "", fmt.Errorf("sambatest: find a free loopback address: %w", last)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
