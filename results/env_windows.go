package results

import (
	"golang.org/x/sys/windows"
)

// platformInfo detects Wine by the export its ntdll has and Windows'
// lacks (wine_get_version): runs under Wine are marked emulated.
func platformInfo() (kernel, cpu, emulated string) {
	v := windows.RtlGetVersion()
	kernel = windowsVersion(v.MajorVersion, v.MinorVersion, v.BuildNumber)
	proc := windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version")
	if proc.Find() == nil {
		r, _, _ := proc.Call()
		emulated = "wine " + windows.BytePtrToString((*byte)(unsafePtr(r)))
	}
	return kernel, cpu, emulated
}
