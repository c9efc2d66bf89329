//go:build unix && !linux

package loadgen

func ephemeralPorts() (lo, hi string) { return "?", "?" }

func platformRSS() int64 { return 0 }
