//go:build darwin || freebsd

package servers

// variants is the hand-written list of models implemented on macOS and
// FreeBSD.
func variants() []Variant {
	m := modelsByName()
	return []Variant{
		{Model: m["kqueue"], New: newKqueue},
		{Model: m["gonet"], New: newGonet},
	}
}
