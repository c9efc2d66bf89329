package report

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"iobench/results"
)

// WriteDir writes report.md, summary.csv and the charts of s into dir
// and returns the charts.
func WriteDir(dir string, s *results.Suite) ([]Chart, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	charts, chartErr := WriteCharts(dir, s)
	var md, csvBuf bytes.Buffer
	if err := WriteMarkdown(&md, s, charts); err != nil {
		return charts, err
	}
	if err := WriteCSV(&csvBuf, s); err != nil {
		return charts, err
	}
	return charts, errors.Join(chartErr,
		os.WriteFile(filepath.Join(dir, "report.md"), md.Bytes(), 0o644),
		os.WriteFile(filepath.Join(dir, "summary.csv"), csvBuf.Bytes(), 0o644))
}
