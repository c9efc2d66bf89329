package servers

import (
	"iobench/internal/uring"
	"sync"
)

// Whether the iouring model can run here, and which variant.

// probeIOUring says whether this process can run the model. It builds a
// ring to find out, so it does so once: the answer does not change while
// the process lives.
var probeIOUring = sync.OnceValue(func() error {
	return uring.Check(uring.OpAccept, uring.OpRecv, uring.OpSend, uring.OpRead)
})

// probeMultishot says why the multishot variant can't run here, or nil
// (uring.ProbeMultishot, the generator's probe too).
func probeMultishot() error {
	if err := probeIOUring(); err != nil {
		return err
	}
	return uring.ProbeMultishot()
}

// iouringImpl says which variant a default iouring server runs here, for
// list and the reports.
func iouringImpl() string {
	if err := probeIOUring(); err != nil {
		return ""
	}
	if err := probeMultishot(); err != nil {
		return "single-shot recv per message (multishot unavailable: " + err.Error() + ")"
	}
	return "multishot accept and recv into a provided buffer ring, replies sent from it; single issuer + deferred task work; registered ring fd"
}
