package servers

// BufRingSize lets tests shrink the iouring buffer ring.
var BufRingSize = &bufRingSize
