package servers

// variants is the hand-written list of models implemented on Linux.
func variants() []Variant {
	m := modelsByName()
	return []Variant{
		{Model: m["blocking"], New: newBlocking, Impl: blockingImpl},
		{Model: m["select"], New: newSelect, Limit: selectLimit},
		{Model: m["poll"], New: newPoll},
		{Model: m["nonblocking"], New: newNonblocking},
		{Model: m["epoll"], New: newEpoll},
		{Model: m["iouring"], New: newIOUring, Probe: probeIOUring, Impl: iouringImpl()},
		{Model: m["gonet"], New: newGonet},
	}
}
