//go:build darwin || freebsd

package servers

// variants is the hand-written list of models implemented on macOS and
// FreeBSD.
func variants() []Variant {
	return []Variant{
		{Model: model("kqueue"), New: newKqueue},
		{Model: model("gonet"), New: newGonet},
	}
}
