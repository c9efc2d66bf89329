package report_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"iobench/report"
	"iobench/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./report -update rewrites it); got:\n%s", name, got)
	}
}

func suite(t *testing.T) *results.Suite {
	s, err := results.ReadSuite("testdata/suite.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMarkdownGolden(t *testing.T) {
	var buf bytes.Buffer
	charts := []report.Chart{{Title: "Throughput vs connections", File: "throughput.svg"}}
	if err := report.WriteMarkdown(&buf, suite(t), charts); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md.golden", buf.Bytes())
	md := buf.String()
	for _, want := range []string{"## Skipped cells", "iouring", "Not a ranking", "## Summary", "generator-bound", "![Throughput vs connections](throughput.svg)"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

func TestCSVGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, suite(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.csv.golden", buf.Bytes())
	if lines := strings.Count(buf.String(), "\n"); lines != len(suite(t).Cells)+1 {
		t.Errorf("%d CSV lines for %d cells (+ header)", lines, len(suite(t).Cells))
	}
}

// TestAggregate: repetitions are pooled per model and scenario; the
// latency comes from the merged histograms.
func TestAggregate(t *testing.T) {
	s := suite(t)
	tables := report.Tables(s)
	if len(tables) != 2 {
		t.Fatalf("%d scenarios, want 2 (1 and 20 connections)", len(tables))
	}
	for _, tb := range tables {
		for _, r := range tb.Rows {
			if r.Model == "iouring" {
				if r.Reps != 0 || r.Skipped == "" {
					t.Errorf("iouring row %+v: want skipped", r)
				}
				continue
			}
			var n int64
			for _, c := range s.Cells {
				if c.Model == r.Model && c.Scenario == tb.Scenario && c.Run != nil {
					n += c.Run.LatencyNS.Count
				}
			}
			if r.Reps != 2 || r.Latency.Count != n {
				t.Errorf("%s @%d: %d reps, %d samples; want 2 reps and the %d samples of both runs", r.Model, tb.Scenario.Conns, r.Reps, r.Latency.Count, n)
			}
		}
	}
}

func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	if _, err := report.WriteDir(dir, suite(t)); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for _, f := range []string{"report.md", "summary.csv", "throughput.svg", "p99.svg", "latency-spectrum.svg", "cpu-per-reply.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v", f, err)
		}
		if strings.HasSuffix(f, ".svg") && !strings.Contains(string(md), "]("+f+")") {
			t.Errorf("report.md does not link %s", f)
		}
	}
}

func TestEmulatedMarked(t *testing.T) {
	s := suite(t)
	s.Environment.Emulated = "wine 8.0"
	var buf bytes.Buffer
	report.WriteMarkdown(&buf, s, nil)
	if !strings.Contains(buf.String(), "Emulated (wine 8.0)") {
		t.Error("a Wine run is not marked emulated in report.md")
	}
}
