package chtest

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestStartRefusesNonLoopback(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"public host", Config{Host: "192.0.2.1"}},
		{"any address", Config{Host: "0.0.0.0"}},
		{"a name", Config{Host: "localhost.example.com"}},
		{"ipv6 any", Config{Host: "::"}},
		{"public shard", Config{Host: "127.0.0.1", Clusters: map[string][]string{"c": {"127.0.0.1:9000", "198.51.100.7:9000"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Dir = t.TempDir()
			s, err := Start(context.Background(), tc.cfg)
			if !errors.Is(err, ErrNotLoopback) {
				if s != nil {
					s.Stop()
				}
				t.Fatalf("Start(%+v): %v, want ErrNotLoopback", tc.cfg, err)
			}
		})
	}
	if _, err := Start(context.Background(), Config{Host: "127.0.0.1"}); err == nil {
		t.Error("Start without Dir succeeded")
	}
}

func TestStartStop(t *testing.T) {
	s := StartServer(t)
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		t.Fatalf("native port: %v", err)
	}
	c.Close()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	default:
		t.Fatal("Stop returned with the server still running")
	}
	if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Stop", s.Addr)
	}
	s.Stop() // twice is fine
}
