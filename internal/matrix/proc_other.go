//go:build !linux

package matrix

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"iobench/results"
)

var errNoAffinity = errors.New("CPU pinning is implemented on Linux only")

func childAttr() *syscall.SysProcAttr { return nil }

func startPinned(cmd *exec.Cmd, cpus []int) error {
	if len(cpus) > 0 {
		return errNoAffinity
	}
	return cmd.Start()
}

func pinProcess(cpus []int) error { return errNoAffinity }

type procCPU struct{ user, sys int64 }

func readProcCPU(pid int) procCPU { return procCPU{} }

func threadCount(pid int) int { return 0 }

func peakRSS(pid int) int64 { return 0 }

func fillRusage(u *results.ServerUsage, st *os.ProcessState) {
	u.UserNS, u.SysNS = int64(st.UserTime()), int64(st.SystemTime())
}

func fdLimit() int { return 0 }

// DefaultCPUs: no pinning where it is not implemented.
func DefaultCPUs() (server, client []int, err error) { return nil, nil, errNoAffinity }
