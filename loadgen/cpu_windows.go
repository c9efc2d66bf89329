package loadgen

import "golang.org/x/sys/windows"

func processCPU() cpuTimes {
	var c, e, k, u windows.Filetime
	if windows.GetProcessTimes(windows.CurrentProcess(), &c, &e, &k, &u) != nil {
		return cpuTimes{}
	}
	ft := func(f windows.Filetime) int64 { return (int64(f.HighDateTime)<<32 | int64(f.LowDateTime)) * 100 }
	return cpuTimes{user: ft(u), sys: ft(k)}
}
