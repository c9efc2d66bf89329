package servers

// variants is the hand-written list of models implemented on Linux.
func variants() []Variant {
	return []Variant{
		{Model: model("blocking"), New: newBlocking, Impl: blockingImpl},
		{Model: model("select"), New: newSelect, Limit: selectLimit},
		{Model: model("poll"), New: replicated(newPoll)},
		{Model: model("nonblocking"), New: newNonblocking},
		{Model: model("epoll"), New: newEpoll},
		{Model: model("iouring"), New: replicated(newIOUring), Probe: probeIOUring, Impl: iouringImpl()},
		{Model: model("gonet"), New: newGonet},
	}
}
