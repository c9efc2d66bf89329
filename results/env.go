package results

import (
	"os"
	"runtime"
	"time"
)

// Environment is where a run happened.
type Environment struct {
	OS       string    `json:"os"`
	Arch     string    `json:"arch"`
	Kernel   string    `json:"kernel"`
	CPUModel string    `json:"cpu_model"`
	Cores    int       `json:"cores"`
	Go       string    `json:"go_version"`
	Iobench  string    `json:"iobench_version"`
	Time     time.Time `json:"time"`
	Host     string    `json:"host,omitempty"` // the machine's name`
	// Emulated names the emulator (e.g. "wine 8.0") when the run happened
	// under one: its numbers are for correctness, not performance.
	Emulated string `json:"emulated,omitempty"`
}

// CurrentEnvironment describes this machine now; version is iobench's.
func CurrentEnvironment(version string) Environment {
	kernel, cpu, emu := platformInfo()
	host, _ := os.Hostname()
	return Environment{Host: host,
		OS: runtime.GOOS, Arch: runtime.GOARCH, Kernel: kernel, CPUModel: cpu,
		Cores: runtime.NumCPU(), Go: runtime.Version(), Iobench: version,
		Time: time.Now().UTC().Truncate(time.Second), Emulated: emu,
	}
}
