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
	// Settings are the variant's tunables (variant.go).
	Settings
	// Logf receives one-line notices (refused connections); nil drops them.
	Logf func(format string, args ...any)
	// join: this server is a replica joining the SO_REUSEPORT group its
	// first replica bound on Addr (replicas.go), not a new listener that
	// must find the port free.
	join bool
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

// check rejects settings the model would silently ignore (Spec.Check)
// and a read buffer out of range.
func (c Config) check(m Model) error {
	if err := (Spec{Model: m.Name, Settings: c.Settings}).Check(); err != nil {
		return err
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
