package report

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/perf/benchfmt"

	"iobench/results"
)

// WriteBenchfmt writes every measured cell as a Go benchmark result line
// (BenchmarkEcho/model=epoll/conns=100/size=64 ...), one line per
// repetition, with unit metadata saying which direction is better, so
// benchstat users can keep their habits. benchstat itself never fails a
// build (golang/go#20728); `iobench compare` does.
func WriteBenchfmt(w io.Writer, s *results.Suite) error {
	bw := benchfmt.NewWriter(w)
	for _, m := range metrics {
		better := "lower"
		if m.Higher {
			better = "higher"
		}
		if err := bw.Write(&benchfmt.UnitMetadata{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: m.BenchUnit, Key: "better"}, OrigUnit: m.BenchUnit, Value: better}); err != nil {
			return err
		}
	}
	e := s.Environment
	for _, c := range s.Cells {
		if !c.Measured() {
			continue
		}
		res := &benchfmt.Result{
			Config: []benchfmt.Config{
				{Key: "goos", Value: []byte(e.OS), File: true},
				{Key: "goarch", Value: []byte(e.Arch), File: true},
				{Key: "pkg", Value: []byte("iobench"), File: true},
				{Key: "cpu", Value: []byte(e.CPUModel), File: true},
			},
			Name:  benchfmt.Name(name(c)),
			Iters: int(max(c.Run.Replies, 1)),
		}
		for _, m := range metrics {
			if m.value == nil {
				continue // capacity: below, per search
			}
			if v, ok := m.value(c); ok {
				res.Values = append(res.Values, benchfmt.Value{Value: v, Unit: m.BenchUnit})
			}
		}
		if err := bw.Write(res); err != nil {
			return err
		}
	}
	// Each capacity search's knee is one result of its own benchmark.
	for _, c := range s.Capacity {
		for _, k := range c.Knees {
			res := &benchfmt.Result{
				Name:   benchfmt.Name(fmt.Sprintf("Capacity/model=%s/conns=%d/size=%d/slo=%s", c.Model, c.Scenario.Conns, c.Scenario.Size, strings.ReplaceAll(c.SLO.Flag(), "=", "-"))),
				Iters:  1,
				Values: []benchfmt.Value{{Value: k, Unit: "knee-msg/s"}},
			}
			if err := bw.Write(res); err != nil {
				return err
			}
		}
	}
	return nil
}

// name is the benchmark name of a cell, one key=value per dimension
// (the non-default ones as results.Scenario lists them).
func name(c results.Cell) string {
	n := fmt.Sprintf("Echo/model=%s/conns=%d/size=%d", c.Model, c.Conns, c.Size)
	for _, d := range c.NonDefault() {
		n += "/" + d.Key + "=" + d.Value
	}
	return n
}
