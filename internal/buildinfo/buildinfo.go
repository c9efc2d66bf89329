// Package buildinfo says which iobench this is.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// version is set at link time: -ldflags "-X iobench/internal/buildinfo.version=v1.2.3".
var version = ""

// Version is the release, the VCS revision, or "dev".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			return "dev-" + rev[:12] + dirty
		}
	}
	return "dev"
}

// String is the version line: release, Go version, OS and architecture.
func String() string {
	return "iobench " + Version() + " (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"
}
