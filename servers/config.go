package servers

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// A server's settings: defaults, checks, io_uring's recv mode and the
// listening address.

// DefaultAddr is where a server listens unless told otherwise.
const DefaultAddr = "127.0.0.1:7000"

// DefaultMaxMsg is the default size of a server's read buffer, and so the
// most it holds for one connection at once.
const DefaultMaxMsg = 64 << 10

// DefaultMaxThreads caps the blocking model's connection threads.
const DefaultMaxThreads = 10000

// Config is what every model is built from. The zero value of each field
// means its default.
type Config struct {
	Addr   string // host:port to bind; port 0 picks a free one
	MaxMsg int    // bytes read at once per connection, the bound on what it holds
	Work   Work   // simulated backend work per read, before the reply
	Loops  int    // epoll: event loops sharing the port with SO_REUSEPORT
	Edge   bool   // epoll: edge-triggered instead of level-triggered
	// Workers: iouring hands completions to this many worker goroutines
	// (IOCP style), 0 handles them on the ring's thread; iocp runs this many
	// GetQueuedCompletionStatus workers, 0 meaning one per CPU.
	Workers int
	// BufRing: iouring receives into provided buffers (a registered buffer
	// ring, Linux 5.19) instead of one buffer per connection.
	BufRing bool
	// Recv: how iouring receives — multishot where the kernel has it
	// (RecvAuto), or one recv per message (RecvSingle, the textbook loop).
	Recv RecvMode
	// MaxThreads caps the blocking model's connection threads: past it a
	// new connection is refused (closed and counted), never a crash.
	MaxThreads int
	// Logf receives one-line notices (refused connections); nil drops them.
	Logf func(format string, args ...any)
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.MaxMsg <= 0 {
		c.MaxMsg = DefaultMaxMsg
	}
	if c.Loops <= 0 {
		c.Loops = 1
	}
	if c.MaxThreads <= 0 {
		c.MaxThreads = DefaultMaxThreads
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c
}

// check rejects settings the model would silently ignore.
func (c Config) check(m Model) error {
	if c.Loops > 1 && !slices.Contains(m.Tunables, "loops") {
		return fmt.Errorf("servers: %w: loops applies only to epoll, not %s", ErrConfig, m.Name)
	}
	if c.Edge && !slices.Contains(m.Tunables, "edge") {
		return fmt.Errorf("servers: %w: edge applies only to epoll, not %s", ErrConfig, m.Name)
	}
	if c.MaxThreads > 0 && !slices.Contains(m.Tunables, "max-threads") {
		return fmt.Errorf("servers: %w: max-threads applies only to blocking, not %s", ErrConfig, m.Name)
	}
	if c.Workers > 0 && !slices.Contains(m.Tunables, "workers") {
		return fmt.Errorf("servers: %w: workers applies only to iouring and iocp, not %s", ErrConfig, m.Name)
	}
	if c.BufRing && !slices.Contains(m.Tunables, "buf-ring") {
		return fmt.Errorf("servers: %w: buf-ring applies only to iouring, not %s", ErrConfig, m.Name)
	}
	if c.Recv != RecvAuto && !slices.Contains(m.Tunables, "recv") {
		return fmt.Errorf("servers: %w: recv applies only to iouring, not %s", ErrConfig, m.Name)
	}
	if c.Recv == RecvMultishot && c.Workers > 0 {
		return fmt.Errorf("servers: %w: iouring's workers take single-shot completions: recv multishot needs workers 0", ErrConfig)
	}
	if c.MaxMsg < 0 || c.MaxMsg > 64<<20 {
		return fmt.Errorf("servers: %w: max-msg %d out of range (1 to %d bytes)", ErrConfig, c.MaxMsg, 64<<20)
	}
	return nil
}

// RecvMode is how the iouring model receives.
type RecvMode int

const (
	RecvAuto      RecvMode = iota // multishot where the kernel has it, else single
	RecvMultishot                 // multishot recv into a provided buffer ring, or an error
	RecvSingle                    // one recv per message, resubmitted after each reply
)

var recvModes = []string{"auto", "multishot", "single"}

func (m RecvMode) String() string {
	if int(m) < len(recvModes) {
		return recvModes[m]
	}
	return fmt.Sprintf("RecvMode(%d)", int(m))
}

// ParseRecvMode parses "auto", "multishot" or "single".
func ParseRecvMode(s string) (RecvMode, error) {
	if i := slices.Index(recvModes, s); i >= 0 {
		return RecvMode(i), nil
	}
	return 0, fmt.Errorf("servers: %w: recv %q: want %s", ErrConfig, s, strings.Join(recvModes, ", "))
}

// parseAddr parses addr as an IP literal and port ("localhost" means
// 127.0.0.1): servers bind addresses, they do not resolve names.
func parseAddr(addr string) (netip.AddrPort, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("servers: %w: address %q: want HOST:PORT, e.g. 127.0.0.1:7000", ErrConfig, addr)
	}
	host, ps := strings.Trim(addr[:i], "[]"), addr[i+1:]
	port, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("servers: %w: address %q: port must be 0 to 65535", ErrConfig, addr)
	}
	switch host {
	case "localhost":
		host = "127.0.0.1"
	case "":
		host = "0.0.0.0"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("servers: %w: address %q: host must be an IP address or localhost", ErrConfig, addr)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}
