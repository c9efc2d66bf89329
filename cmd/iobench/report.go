package main

import (
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"iobench/report"
	"iobench/results"
)

func newReportCmd() *cobra.Command {
	var format, out string
	var wide, force bool
	cmd := &cobra.Command{
		Use:   "report PATH...",
		Short: "Rebuild the report from saved results (merging several runs)",
		Long: `Rebuild the tables, report.md, summary.csv and charts from results.json files
or the folders holding them. Several suites are merged (their cells pooled:
repetitions of the same model and scenario are aggregated together); when
their settings or machines differ, the report says so and shows each one's.`,
		Example: `  iobench report iobench-runs/20261126-101500
  iobench report run1/results.json run2/results.json --format md --out merged`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := report.CheckFormat(format, report.ReportFormats); err != nil {
				return usageErr("report: %v", err)
			}
			if out != "" {
				if err := os.MkdirAll(out, 0o755); err != nil {
					return usageErr("report: --out: %v", err)
				}
			}
			if out != "" && !force {
				if _, err := os.Stat(filepath.Join(out, "results.json")); err == nil {
					return usageErr("report: --out %s already holds a results.json (a measured run?); choose a new folder or add --force to replace it", out)
				}
			}
			suites, err := readSuites(args)
			if err != nil {
				return err
			}
			s := results.Merge(suites...)
			var charts []report.Chart
			if out != "" {
				var err error
				if charts, err = report.WriteDir(out, s); err != nil {
					return err
				}
				if err := s.WriteFile(filepath.Join(out, "results.json")); err != nil {
					return err
				}
			}
			return writeReport(cmd.OutOrStdout(), s, charts, format, wide)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", report.OrList(report.ReportFormats)+" (the tables with intervals, notes and readings), printed on stdout")
	cmd.Flags().StringVar(&out, "out", "", "also write the merged results.json, report.md, summary.csv and charts to this folder")
	cmd.Flags().BoolVar(&wide, "wide", false, "table: every column, each figure with its interval (the default fits 120 columns)")
	cmd.Flags().BoolVar(&force, "force", false, "write into --out even if it already holds a results.json (replacing it)")
	return cmd
}

// readSuites reads each suite given, refusing one given twice: its
// repetitions would count twice.
func readSuites(paths []string) ([]*results.Suite, error) {
	var suites []*results.Suite
	var seen []os.FileInfo
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			if fi.IsDir() {
				fi, _ = os.Stat(filepath.Join(p, "results.json"))
			}
			for _, was := range seen {
				if fi != nil && os.SameFile(was, fi) {
					return nil, usageErr("report: %s is given twice: its repetitions would count twice", p)
				}
			}
			if fi != nil {
				seen = append(seen, fi)
			}
		}
		s, err := results.ReadSuite(p)
		if err != nil {
			return nil, &exitError{code: 2, err: err}
		}
		suites = append(suites, s)
	}
	return suites, nil
}

// writeReport writes s in format (report.ReportFormats) to w.
func writeReport(w io.Writer, s *results.Suite, charts []report.Chart, format string, wide bool) error {
	switch format {
	case "md":
		return report.WriteMarkdown(w, s, charts)
	case "csv":
		return report.WriteCSV(w, s)
	case "benchfmt":
		return report.WriteBenchfmt(w, s)
	case "json":
		return report.WriteJSON(w, s)
	}
	return report.WriteTerminal(w, s, wide)
}

func writeBenchfmt(path string, s *results.Suite) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := report.WriteBenchfmt(f, s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
