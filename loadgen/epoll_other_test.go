//go:build !linux

package loadgen_test

const loadgenHasEpoll = false

func uringEngines() []string { return nil }
