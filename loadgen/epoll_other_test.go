//go:build !linux

package loadgen_test

const loadgenHasEpoll = false
