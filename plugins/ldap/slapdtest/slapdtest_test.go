package slapdtest

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestStartKillRestartStop(t *testing.T) {
	s, err := Start(t.Context(), Options{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Stop()
	addr := strings.TrimPrefix(s.URL(), "ldap://")
	if c, err := net.DialTimeout("tcp", addr, time.Second); err != nil {
		t.Fatalf("not listening: %v", err)
	} else {
		c.Close()
	}
	s.Kill()
	if s.PID() != 0 {
		t.Error("PID after Kill")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("still listening after Kill")
	}
	if err := s.Restart(t.Context()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if err := s.Add(t.Context(), strings.NewReader("dn: ou=x,dc=example,dc=com\nobjectClass: organizationalUnit\nou: x\n")); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if s.PID() == 0 {
		t.Error("not running after Add")
	}
	s.Stop()
	s.Stop()
}
