package loadgen

import "runtime"

// cpuTimes is process CPU time in nanoseconds, and its context switches
// (voluntary and involuntary; ctxKnown false where the OS does not say).
type cpuTimes struct {
	user, sys int64
	ctx       int64
	ctxKnown  bool
}

func (a cpuTimes) sub(b cpuTimes) cpuTimes {
	return cpuTimes{a.user - b.user, a.sys - b.sys, a.ctx - b.ctx, a.ctxKnown && b.ctxKnown}
}

// usableCores is how many cores the generator may run on (GOMAXPROCS
// follows the CPU affinity mask).
func usableCores() int { return runtime.GOMAXPROCS(0) }

// rssBytes is the process's resident memory now, where the OS says.
func rssBytes() int64 { return platformRSS() }
