package servers

// SetBufRingSize lets a test starve an iouring server of provided buffers;
// call it before Serve.
func SetBufRingSize(s Server, n int) { s.(*iouringServer).bufRingSize = n }
