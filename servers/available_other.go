//go:build !linux && !windows && !darwin && !freebsd

package servers

// variants is the hand-written list of models implemented on this OS; the
// native models of Windows and the BSDs come with their own files.
func variants() []Variant {
	return []Variant{
		{Model: model("gonet"), New: newGonet},
	}
}
