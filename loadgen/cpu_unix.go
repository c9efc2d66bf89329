//go:build unix

package loadgen

import "golang.org/x/sys/unix"

func processCPU() cpuTimes {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return cpuTimes{}
	}
	return cpuTimes{user: ru.Utime.Nano(), sys: ru.Stime.Nano(), ctx: ru.Nvcsw + ru.Nivcsw, ctxKnown: true}
}
