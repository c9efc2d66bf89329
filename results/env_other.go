//go:build !linux && !windows

package results

func platformInfo() (kernel, cpu, emulated string) {
	return "", "", ""
}
