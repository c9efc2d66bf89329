package loadgen

import (
	"os"
	"strings"
)

func ephemeralPorts() (lo, hi string) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if f := strings.Fields(string(b)); err == nil && len(f) == 2 {
		return f[0], f[1]
	}
	return "?", "?"
}

func platformRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	f := strings.Fields(string(b))
	if err != nil || len(f) < 2 {
		return 0
	}
	var pages int64
	for _, ch := range f[1] {
		pages = pages*10 + int64(ch-'0')
	}
	return pages * int64(os.Getpagesize())
}
