//go:build !linux

package loadgen

func newEngine(cfg Config) engine { return &netEngine{} }
