package servers

// variants is the hand-written list of models implemented on Windows.
func variants() []Variant {
	m := modelsByName()
	return []Variant{
		{Model: m["blocking"], New: newBlocking},
		{Model: m["select"], New: newSelect},
		{Model: m["nonblocking"], New: newNonblocking},
		{Model: m["overlapped"], New: newOverlapped},
		{Model: m["iocp"], New: newIOCP},
		{Model: m["gonet"], New: newGonet},
	}
}
