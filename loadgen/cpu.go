package loadgen

import "runtime"

// cpuTimes is process CPU time in nanoseconds.
type cpuTimes struct{ user, sys int64 }

func (a cpuTimes) sub(b cpuTimes) cpuTimes { return cpuTimes{a.user - b.user, a.sys - b.sys} }

// usableCores is how many cores the generator may run on (GOMAXPROCS
// follows the CPU affinity mask).
func usableCores() int { return runtime.GOMAXPROCS(0) }

// rssBytes is the process's resident memory now, where the OS says.
func rssBytes() int64 { return platformRSS() }
