//go:build !linux

package loadgen

import "syscall"

// canBindNoPort: elsewhere a bound source address would fix its port at
// bind(2), where TIME_WAIT blocks it; churn then connects from the
// default address.
const canBindNoPort = false

func bindNoPort(network, address string, c syscall.RawConn) error { return nil }

// pendingBytes: elsewhere, bytes past the echo go unnoticed in churn mode
// (the other modes see them).
func pendingBytes(c syscall.Conn) bool { return false }
