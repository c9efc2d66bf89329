package report

import "testing"

// TestValueFormats: each metric's figures are printed to the precision
// they carry: a call per reply in thousandths (0.316, not 0), durations
// as durations, rates as counts.
func TestValueFormats(t *testing.T) {
	for _, tc := range []struct {
		v          float64
		unit, want string
	}{
		{0.316, "io_uring_enter/reply", "0.316"},
		{2.0149, "syscalls/reply", "2.015"},
		{1500, "ns", "1.5µs"},
		{264003, "replies/s", "264,003"},
	} {
		if got := fmtValue(tc.v, tc.unit); got != tc.want {
			t.Errorf("fmtValue(%v, %q) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}
