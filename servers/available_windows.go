package servers

// variants is the hand-written list of models implemented on Windows.
func variants() []Variant {
	return []Variant{
		{Model: model("blocking"), New: newBlocking},
		{Model: model("select"), New: newSelect},
		{Model: model("nonblocking"), New: newNonblocking},
		{Model: model("overlapped"), New: newOverlapped},
		{Model: model("iocp"), New: newIOCP},
		{Model: model("gonet"), New: newGonet},
	}
}
