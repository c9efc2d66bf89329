//go:build !linux

package matrix

import "iobench/results"

// Floor is measured on Linux only (raw blocking system calls on pinned
// threads).
func Floor(serverCPUs, clientCPUs []int) *results.Floor {
	return &results.Floor{Unavailable: "measured on Linux only"}
}
