package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

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

// TestMarkdownGolden: report.md of testdata/suite.json (three models,
// skipped and generator-bound cells) as a person reviewed it when the
// golden was last written: the golden holds the layout and wording, so
// any change to either shows here and is looked at, not just accepted.
// The facts are checked apart from it, against the suite (below and in
// TestWarningsVisible, TestAggregate).
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

// TestCSVGolden: the golden holds summary.csv's columns and formats as
// reviewed; apart from it, each row is checked against its cell in the
// suite (model, connections, repetition, throughput), so a golden
// rewritten from wrong output would still fail here.
func TestCSVGolden(t *testing.T) {
	var buf bytes.Buffer
	s := suite(t)
	if err := report.WriteCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.csv.golden", buf.Bytes())
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(s.Cells)+1 {
		t.Fatalf("%d CSV rows for %d cells (+ header)", len(rows), len(s.Cells))
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for i, c := range s.Cells {
		r := rows[i+1]
		if r[col["model"]] != c.Model || r[col["conns"]] != strconv.Itoa(c.Conns) || r[col["rep"]] != strconv.Itoa(c.Rep) {
			t.Errorf("row %d: %s@%s rep %s; want cell %s@%d rep %d", i+1, r[col["model"]], r[col["conns"]], r[col["rep"]], c.Model, c.Conns, c.Rep)
		}
		if c.Run != nil {
			if got, _ := strconv.ParseFloat(r[col["throughput_per_sec"]], 64); math.Abs(got-c.Run.ThroughputPerSec) > 0.05 {
				t.Errorf("row %d: throughput %s; the cell has %.1f", i+1, r[col["throughput_per_sec"]], c.Run.ThroughputPerSec)
			}
		}
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

// TestMergedSettingsShown: suites measured differently are merged with a
// note and each suite's settings.
func TestMergedSettingsShown(t *testing.T) {
	a, b := suite(t), suite(t)
	b.Config.DurationNS *= 10
	var md bytes.Buffer
	if err := report.WriteMarkdown(&md, results.Merge(a, b), nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Merged from 2 suites with different settings", "| suite 1 (", "| suite 2 (", "3s measured"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("merged report lacks %q", want)
		}
	}
	md.Reset()
	if err := report.WriteMarkdown(&md, results.Merge(a, suite(t)), nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "Merged from") {
		t.Error("suites with the same settings are said to differ")
	}
}

// TestWarningsVisible: every kind of warning of every cell appears in
// report.md and in the terminal tables on its model's note line, with the
// first repetition's text in full.
func TestWarningsVisible(t *testing.T) {
	s := suite(t)
	var md, term bytes.Buffer
	if err := report.WriteMarkdown(&md, s, nil); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteTerminal(&term, s, true); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range s.Cells {
		for _, w := range c.AllWarnings() {
			n++
			label := w.Code
			for name, out := range map[string]string{"report.md": md.String(), "terminal": term.String()} {
				found := false
				for _, line := range strings.Split(out, "\n") {
					if strings.Contains(line, c.Model+" (") && strings.Contains(line, label+": ") {
						found = true
					}
				}
				if !found {
					t.Errorf("%s has no note line for %s's %q", name, c.Model, w)
				}
			}
			if c.Rep == 1 && !strings.Contains(md.String(), w.String()) {
				t.Errorf("report.md lacks the text %q", w)
			}
		}
	}
	if n == 0 {
		t.Fatal("the test suite has no warnings to look for")
	}
}

// TestReportJSON: report --format json carries intervals, notes and the
// reading.
func TestReportJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, suite(t)); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Tables []struct {
			Reading string `json:"reading"`
			Rows    []struct {
				Model      string `json:"model"`
				Throughput struct {
					N  int      `json:"n"`
					Lo *float64 `json:"ci_lo"`
				} `json:"throughput_per_sec"`
				Notes []report.Note `json:"notes"`
			} `json:"rows"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Tables) != 2 || out.Tables[0].Reading == "" || out.Tables[1].Rows[0].Throughput.N != 2 || out.Tables[1].Rows[0].Throughput.Lo == nil || len(out.Tables[1].Rows[0].Notes) == 0 {
		t.Errorf("json: %s", buf.String())
	}
}

// TestLiteralHeaders: headers are printed as written, not upper-cased
// with their punctuation spaced out ("P 99 . 9", "REPLIES / S").
func TestLiteralHeaders(t *testing.T) {
	var term bytes.Buffer
	if err := report.WriteTerminal(&term, suite(t), true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" replies/s ", " p99.9 ", " server CPU/reply ", " conns est/req (failed) "} {
		if !strings.Contains(term.String(), want) {
			t.Errorf("terminal table lacks the header %q:\n%s", want, term.String())
		}
	}
	var compact bytes.Buffer
	if err := report.WriteTerminal(&compact, suite(t), false); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(compact.String(), "\n") {
		if strings.ContainsAny(line, "│┌├└") && utf8.RuneCountInString(line) > 120 {
			t.Errorf("compact table line of %d columns (want ≤ 120):\n%s", utf8.RuneCountInString(line), line)
		}
	}
}

// TestRunBlock: load's summary is a block of labelled lines that fits a
// terminal, not a wide table.
func TestRunBlock(t *testing.T) {
	var run bytes.Buffer
	if err := report.WriteRun(&run, suite(t).Cells[0].Run); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"throughput ", "latency ", "fairness ", "stalls ", "1 worker)"} {
		if !strings.Contains(run.String(), want) {
			t.Errorf("load summary lacks %q:\n%s", want, run.String())
		}
	}
	for _, line := range strings.Split(run.String(), "\n") {
		if utf8.RuneCountInString(line) > 120 || strings.ContainsAny(line, "│┌") {
			t.Errorf("load summary line of %d columns or a table: %q", utf8.RuneCountInString(line), line)
		}
	}
}
