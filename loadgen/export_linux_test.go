package loadgen

// UringUnavailable says why the uring engine can't run here, or nil.
var UringUnavailable = probeUringEngine
