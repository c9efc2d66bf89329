package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"iobench/cmd/internal/agent"
	"iobench/results"

	"golang.org/x/sys/unix"
)

// netns is a network namespace the test made; its veth end has addr.
type netns struct{ name, addr string }

// twoHosts makes two network namespaces joined by a veth pair, 10.199.0.1
// and 10.199.0.2, and removes them when the test ends, even on failure.
// It skips, saying why, where namespaces can't be made.
func twoHosts(t *testing.T) (server, client netns) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: creating network namespaces needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: no ip command (iproute2) to create network namespaces")
	}
	tag := fmt.Sprintf("iob%d", os.Getpid()%1000000)
	server, client = netns{tag + "s", "10.199.0.1"}, netns{tag + "c", "10.199.0.2"}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", server.name).Run()
		exec.Command("ip", "netns", "del", client.name).Run()
	})
	for _, args := range [][]string{
		{"netns", "add", server.name},
		{"netns", "add", client.name},
		{"link", "add", tag + "a", "type", "veth", "peer", "name", tag + "b"},
		{"link", "set", tag + "a", "netns", server.name},
		{"link", "set", tag + "b", "netns", client.name},
		{"-n", server.name, "addr", "add", server.addr + "/24", "dev", tag + "a"},
		{"-n", client.name, "addr", "add", client.addr + "/24", "dev", tag + "b"},
		{"-n", server.name, "link", "set", tag + "a", "up"},
		{"-n", client.name, "link", "set", tag + "b", "up"},
		{"-n", server.name, "link", "set", "lo", "up"},
		{"-n", client.name, "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Skipf("skipped: ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return server, client
}

// in runs iobench with args inside namespace ns.
func in(t *testing.T, ns netns, args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.name, os.Args[0]}, noSLO(args)...)...)
	cmd.Env = append(os.Environ(), "IOBENCH_TEST_MAIN=1")
	return cmd
}

// startAgent starts an agent in ns and returns its address.
func startAgent(t *testing.T, ns netns, args ...string) (string, *exec.Cmd) {
	t.Helper()
	cmd := in(t, ns, append([]string{"agent", "--listen", ns.addr + ":0"}, args...)...)
	line, stderr := startChild(t, cmd, 10*time.Second)
	addr, ok := strings.CutPrefix(line, "agent listening on ")
	if !ok {
		t.Fatalf("agent's first line %q, stderr %q", line, stderr.String())
	}
	return addr, cmd
}

// TestAgentTwoHosts: `iobench agent` in one network namespace, `iobench
// run --agent` in another, joined by a veth pair: the cells are measured
// on the server host, a wrong token and a tokenless non-loopback agent are
// refused, and a runner killed mid-run leaves no server behind.
func TestAgentTwoHosts(t *testing.T) {
	srvNS, cliNS := twoHosts(t)
	dir := t.TempDir()
	token, wrong := filepath.Join(dir, "token"), filepath.Join(dir, "wrong")
	os.WriteFile(token, []byte("s3cret-token-of-24-bytes\n"), 0o600)
	os.WriteFile(wrong, []byte("guess\n"), 0o600)

	// Without a token an agent off loopback refuses to start.
	if out, err := in(t, srvNS, "agent", "--listen", srvNS.addr+":0").CombinedOutput(); exitCode(err) != 2 || !strings.Contains(string(out), "needs a token") {
		t.Errorf("tokenless agent on %s: %v\n%s", srvNS.addr, err, out)
	}
	addr, agentCmd := startAgent(t, srvNS, "--token-file", token, "--lease", "1s")
	if !strings.HasPrefix(addr, srvNS.addr+":") {
		t.Fatalf("agent listens on %s; want %s", addr, srvNS.addr)
	}

	// A wrong token.
	out, err := in(t, cliNS, "run", "--agent", addr, "--token-file", wrong, "--models", "epoll", "--conns", "2", "--repeat", "1",
		"--duration", "100ms", "--out", filepath.Join(dir, "bad"), "--quiet").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "agent refused: bad token") {
		t.Errorf("wrong token: %v\n%s", err, out)
	}

	good := filepath.Join(dir, "good")
	// A real run across the two hosts, a variant among the models: its
	// settings travel typed to the agent and back into the results.
	out, err = in(t, cliNS, "run", "--agent", addr, "--token-file", token, "--models", "epoll:edge:loops=2,gonet", "--conns", "1,4", "--repeat", "1",
		"--duration", "300ms", "--warmup", "100ms", "--out", good, "--quiet").CombinedOutput()
	if err != nil {
		t.Fatalf("run --agent: %v\n%s", err, out)
	}
	s, err := results.ReadSuite(good)
	if err != nil {
		t.Fatal(err)
	}
	counted := slices.DeleteFunc(slices.Clone(s.Cells), func(c results.Cell) bool { return !c.Counted() })
	if len(counted) != 4 || s.ServerEnvironment == nil || !strings.Contains(s.Network, "over a network") {
		t.Fatalf("%d cells counted, server environment %v, network %q", len(counted), s.ServerEnvironment, s.Network)
	}
	if v := counted[0].Spec(); counted[0].Model != "epoll:edge:loops=2" || v.Model != "epoll" || !v.Settings.Edge || v.Settings.Loops != 2 {
		t.Errorf("first cell %q recorded as %+v; want epoll with edge and 2 loops", counted[0].Model, v)
	}
	for _, c := range counted {
		if !c.Measured() || c.Run.Replies == 0 || c.Server == nil || !c.Server.ExitedCleanly || noCPU(c) ||
			!strings.HasPrefix(c.Run.Config.Addr, srvNS.addr+":") {
			t.Errorf("cell %s@%d: error %q, run %+v, server %+v", c.Model, c.Conns, c.Error, c.Run, c.Server)
		}
	}
	if md, _ := os.ReadFile(filepath.Join(good, "report.md")); !strings.Contains(string(md), "over a network") {
		t.Errorf("report.md does not say where the servers ran:\n%s", md)
	}

	// A runner killed mid-run: its lease expires and the agent stops the
	// server it started.
	runner := in(t, cliNS, "run", "--agent", addr, "--token-file", token, "--models", "epoll", "--conns", "2", "--repeat", "1",
		"--duration", "30s", "--out", filepath.Join(dir, "killed"), "--quiet")
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	defer runner.Process.Kill()
	server := 0
	for deadline := time.Now().Add(10 * time.Second); server == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		server = childOf(agentCmd.Process.Pid)
	}
	if server == 0 {
		t.Fatal("the agent started no server for the runner")
	}
	time.Sleep(300 * time.Millisecond)
	runner.Process.Kill()
	runner.Wait()
	for deadline := time.Now().Add(5 * time.Second); !gone(server) && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
	}
	if !gone(server) {
		t.Errorf("server %d still runs 5 s after its runner was killed (lease 1 s)", server)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestAgentLowFDLimit: an agent allowed 128 descriptors, and beside a
// valid runner one of three attacks: 150 connections held open that never
// send a request (or only part of one); 150 that each send a wrong token
// and stay open; 64 that re-send a wrong token on new connections without
// pause. The agent caps what it holds, closes every refused connection
// and lets a client with the token evict those without it, so it never
// runs out of descriptors, each of the runner's requests is answered
// within 3 s, and a whole run is served.
func TestAgentLowFDLimit(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	const secret = "s3cret-token-of-24-bytes"
	os.WriteFile(token, []byte(secret+"\n"), 0o600)
	wrong := "GET /v1/hello HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong-token-guess-0001\r\n\r\n"
	for _, attack := range []struct {
		name string
		run  func(addr string, stop <-chan struct{}) func()
	}{
		{"idle and partial requests held open", func(addr string, _ <-chan struct{}) func() {
			return holdOpen(t, addr, 150, func(i int) string {
				if i%2 == 0 {
					return "POST /v1/session HTTP/1.1\r\nHost: x\r\n" // and never the rest
				}
				return ""
			})
		}},
		{"wrong tokens held open", func(addr string, _ <-chan struct{}) func() {
			return holdOpen(t, addr, 150, func(int) string { return wrong })
		}},
		{"wrong tokens re-sent", func(addr string, stop <-chan struct{}) func() {
			var wg sync.WaitGroup
			for range 64 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						c, err := net.DialTimeout("tcp", addr, time.Second)
						if err != nil {
							time.Sleep(10 * time.Millisecond)
							continue
						}
						c.SetDeadline(time.Now().Add(time.Second))
						c.Write([]byte(wrong))
						c.Read(make([]byte, 1))
						c.Close()
					}
				})
			}
			return wg.Wait
		}},
	} {
		t.Run(attack.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "agent", "--listen", "127.0.0.1:0", "--token-file", token)
			cmd.Env = append(os.Environ(), "IOBENCH_TEST_MAIN=1")
			line, stderr := startChild(t, cmd, 10*time.Second)
			addr, ok := strings.CutPrefix(line, "agent listening on ")
			if !ok {
				t.Fatalf("agent's first line %q, stderr %q", line, stderr.String())
			}
			const limit = 128
			if err := unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: limit, Max: limit}, nil); err != nil {
				t.Skipf("skipped: can't lower the agent's descriptor limit: %v", err)
			}
			stop := make(chan struct{})
			done := attack.run(addr, stop)
			defer func() {
				close(stop)
				done()
			}()
			time.Sleep(300 * time.Millisecond) // the attack under way

			// Fresh connections with the token, for 3 s: each answered within 3 s.
			client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/hello", nil)
				req.Header.Set("Authorization", "Bearer "+secret)
				began := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("a valid hello during the attack: %v\nagent: %s", err, stderr.String())
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("a valid hello during the attack: status %d after %v", resp.StatusCode, time.Since(began))
				}
			}
			start := time.Now()
			runner := exec.Command(os.Args[0], "run", "--slo", "none", "--agent", addr, "--token-file", token, "--models", "epoll", "--conns", "2",
				"--repeat", "1", "--retries", "0", "--duration", "200ms", "--warmup", "50ms", "--out", filepath.Join(t.TempDir(), "run"), "--quiet")
			runner.Env = cmd.Env
			out, err := runner.CombinedOutput()
			if err != nil {
				t.Fatalf("a valid runner during the attack (agent limited to %d descriptors): %v\n%s\nagent: %s", limit, err, out, stderr.String())
			}
			t.Logf("the runner was served in %v", time.Since(start).Round(time.Millisecond))
			s := stderr.String()
			if strings.Contains(s, "too many open files") {
				t.Errorf("the agent ran out of descriptors:\n%s", s)
			}
			if n := strings.Count(s, "refused"); n > 3 {
				t.Errorf("%d refusals logged from one client in a few seconds; want at most one per %v:\n%s", n, agent.RefusalLogEvery, s)
			}
		})
	}
}

// holdOpen opens n connections to addr, sends each what say gives, and
// keeps them open until the returned function is called.
func holdOpen(t *testing.T, addr string, n int, say func(i int) string) func() {
	var conns []net.Conn
	for i := range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("hostile connection %d: %v", i, err)
		}
		if msg := say(i); msg != "" {
			c.Write([]byte(msg))
		}
		conns = append(conns, c)
	}
	return func() {
		for _, c := range conns {
			c.Close()
		}
	}
}
