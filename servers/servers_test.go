package servers_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"iobench/servers"
	"iobench/servers/servertest"
)

func TestParseWork(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want servers.Work
		err  bool
	}{
		{"", servers.Work{}, false},
		{"none", servers.Work{}, false},
		{"cpu:50us", servers.Work{Kind: servers.CPUWork, D: 50 * time.Microsecond}, false},
		{"sleep:1ms", servers.Work{Kind: servers.SleepWork, D: time.Millisecond}, false},
		{"cpu", servers.Work{}, true},
		{"cpu:", servers.Work{}, true},
		{"cpu:-1ms", servers.Work{}, true},
		{"disk:1ms", servers.Work{}, true},
		{"sleep:2h", servers.Work{}, true},
	} {
		got, err := servers.ParseWork(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseWork(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil && tc.in != "" {
			if back, _ := servers.ParseWork(got.String()); back != got {
				t.Errorf("ParseWork(%q).String() = %q does not parse back", tc.in, got.String())
			}
		}
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := servers.Open("nosuch", servers.Config{}); !errors.Is(err, servers.ErrUnknownModel) || !strings.Contains(err.Error(), "gonet") {
		t.Errorf("unknown model: %v; want ErrUnknownModel listing the models", err)
	}
	for _, tc := range []struct {
		addr string
		want string
	}{
		{"127.0.0.1", "want HOST:PORT"},
		{"127.0.0.1:99999", "port must be"},
		{"example.com:80", "IP address"},
	} {
		if _, err := servers.Open("gonet", servers.Config{Addr: tc.addr}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("addr %q: %v; want an error containing %q", tc.addr, err, tc.want)
		}
	}
	if _, err := servers.Open("gonet", servers.Config{Settings: servers.Settings{Edge: true}}); err == nil {
		t.Error("--edge on gonet was accepted; want an error")
	}
	for _, a := range servers.List() {
		if !a.Available {
			continue
		}
		t.Run("in-use/"+a.Name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			srv, err := servers.Open(a.Name, servers.Config{Addr: ln.Addr().String()})
			if err == nil {
				srv.Close()
				t.Fatalf("bound %s while another socket listens there", ln.Addr())
			}
			if !strings.Contains(err.Error(), "in use") {
				t.Errorf("error %q does not say the address is in use", err)
			}
		})
	}
}

// TestWorkDelaysReply checks that sleep work happens before the reply.
func TestWorkDelaysReply(t *testing.T) {
	for _, model := range servers.AvailableNames() {
		t.Run(model, func(t *testing.T) {
			srv := servertest.Start(t, factory(model, servers.Config{Work: servers.Work{Kind: servers.SleepWork, D: 30 * time.Millisecond}}), servers.Config{})
			c := servertest.Dial(t, srv.Addr())
			start := time.Now()
			if err := servertest.Echo(c, []byte("x")); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < 30*time.Millisecond {
				t.Errorf("reply after %v, before the 30ms of work", d)
			}
		})
	}
}

// TestShares: a server of several loops counts each loop's connections
// as it accepts them (what run --server-cores reports), and every loop
// gets some of 60: SO_REUSEPORT spreads them by hash.
func TestShares(t *testing.T) {
	for _, model := range []string{"epoll", "poll", "iouring"} {
		t.Run(model, func(t *testing.T) {
			if _, err := servers.Lookup(model); err != nil {
				t.Skipf("skipped: %v", err)
			}
			srv, err := servers.Open(model, servers.Config{Addr: "127.0.0.1:0", Settings: servers.Settings{Loops: 2}})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(t.Context()) }()
			var conns []net.Conn
			for range 60 {
				c, err := net.Dial("tcp", srv.Addr())
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				if _, err := c.Write([]byte("x")); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Read(make([]byte, 1)); err != nil { // echoed: accepted by now
					t.Fatal(err)
				}
			}
			st := srv.Stats()
			for _, c := range conns {
				c.Close()
			}
			srv.Close()
			<-done
			if len(st.Shares) != 2 || st.Shares[0]+st.Shares[1] != 60 || st.Shares[0] == 0 || st.Shares[1] == 0 {
				t.Errorf("shares %v of %d accepted; want 2 loops sharing 60", st.Shares, st.Accepted)
			}
		})
	}
}
