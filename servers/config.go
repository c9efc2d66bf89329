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

// MaxMaxMsg bounds a server's read buffer.
const MaxMaxMsg = 64 << 20

// SettingError is a setting a server can't take, Setting spelled as
// serve's flags and --models spell it: a caller maps it to its own
// input (a flag, a field of a request). It is an ErrConfig.
type SettingError struct {
	Setting string
	Value   any
	Want    string
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("servers: %v: %s %v: want %s", ErrConfig, e.Setting, e.Value, e.Want)
}

func (e *SettingError) Unwrap() error { return ErrConfig }

// Validate is the one check of a Config for model, every setting as
// given (zero meaning its default), whoever built it: serve's flags, a
// variant's spelling, an agent's request. The address, the read buffer,
// the work and the variant's settings (Spec.Check: each a setting of the
// model, each in range, none contradicting another).
func (c Config) Validate(model string) error {
	if c.Addr != "" {
		if _, err := parseAddr(c.Addr); err != nil {
			return err
		}
	}
	if c.MaxMsg < 0 || c.MaxMsg > MaxMaxMsg {
		return &SettingError{Setting: "max-msg", Value: c.MaxMsg, Want: fmt.Sprintf("1 to %d bytes", MaxMaxMsg)}
	}
	if c.Work.D < 0 {
		return &SettingError{Setting: "work", Value: c.Work, Want: "a duration of 0 or more"}
	}
	return Spec{Model: model, Settings: c.Settings}.Check()
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
		return netip.AddrPort{}, &SettingError{Setting: "addr", Value: strconv.Quote(addr), Want: "HOST:PORT, e.g. 127.0.0.1:7000"}
	}
	host, ps := strings.Trim(addr[:i], "[]"), addr[i+1:]
	port, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return netip.AddrPort{}, &SettingError{Setting: "addr", Value: strconv.Quote(addr), Want: "HOST:PORT whose port must be 0 to 65535"}
	}
	switch host {
	case "localhost":
		host = "127.0.0.1"
	case "":
		host = "0.0.0.0"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, &SettingError{Setting: "addr", Value: strconv.Quote(addr), Want: "a host that is an IP address or localhost"}
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}
