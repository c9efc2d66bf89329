package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"iobench/report"
	"iobench/results"
)

func newCompareCmd() *cobra.Command {
	var threshold, metrics, format string
	var alpha float64
	var ignoreWork bool
	cmd := &cobra.Command{
		Use:   "compare BASE NEW",
		Short: "Gate on performance regressions between two suites",
		Long: `Compare two suites (results.json files or folders from iobench run --repeat N),
cell by cell (model and scenario), metric by metric: median and 95% confidence
interval per side, delta, Mann-Whitney U p-value (adjusted with Holm–Bonferroni
for the comparisons made at once), verdict. Each repetition is one sample.
For a server iobench does not start, load --repeat N --label NAME --json F
writes such a suite.

Exit status: 0 when nothing regressed; 1 when some cell is worse with
p < --alpha and |delta| > --threshold, or a cell of NEW failed (its server
died, replies were corrupted); 2 on unusable input (suites that do not
measure the same cells, or too few repetitions to decide: it says how many).`,
		Example: `  iobench compare base/ new/
  iobench compare base/results.json new/results.json --threshold 3% --metric throughput,p99,cpu
  iobench compare base/ new/ --format md > comment.md
  iobench compare base/ new/ --metric syscalls --threshold 2%`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageErr("compare: want BASE and NEW (results.json files or folders), got %d argument(s)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := compareConfig(threshold, metrics, format, alpha)
			if err != nil {
				return err
			}
			cfg.IgnoreWork = ignoreWork
			return compare(cmd, args, cfg, format)
		},
	}
	cmd.Flags().StringVar(&threshold, "threshold", strconv.FormatFloat(report.MinDelta*100, 'g', -1, 64)+"%", "smallest change that counts, as a percentage")
	cmd.Flags().Float64Var(&alpha, "alpha", report.Alpha, "significance level of the Mann-Whitney U test (before the adjustment for the comparisons made at once)")
	cmd.Flags().StringVar(&metrics, "metric", "throughput,p99", "metrics to gate on: throughput, p50, p99, p999, cpu, syscalls, ctxsw (kernel counts per reply: little noise, a tight threshold works), capacity (each search's knee with run --slo: --searches ≥ 4 to decide), or syscalls:NAME for one call (e.g. syscalls:epoll_wait, syscalls:other)")
	cmd.Flags().StringVar(&format, "format", "table", report.OrList(report.ComparisonFormats)+" (md: a pull-request comment)")
	cmd.Flags().BoolVar(&ignoreWork, "ignore-work", false, "pair cells whatever --work their server did (a suite with --work cpu:5us against one without); each side must hold one work per model and scenario")
	return cmd
}

// parseThreshold reads "5%" as 0.05. A bare number below 1 ("0.05") is
// refused: it reads as a fraction but would mean 0.05%.
func parseThreshold(s string) (float64, error) {
	num, pct := strings.CutSuffix(strings.TrimSpace(s), "%")
	t, err := strconv.ParseFloat(num, 64)
	switch {
	case err != nil || t < 0 || t >= 1000:
		return 0, usageErr("compare: --threshold %q: want a percentage such as 5%%", s)
	case !pct && t > 0 && t < 1:
		return 0, usageErr("compare: --threshold %q is ambiguous: write %g%% for %g percent, or %s%% if you mean %s percent", s, t*100, t*100, num, num)
	}
	return t / 100, nil
}

// compareConfig checks compare's flags.
func compareConfig(threshold, metrics, format string, alpha float64) (report.CompareConfig, error) {
	cfg := report.CompareConfig{Alpha: alpha}
	t, err := parseThreshold(threshold)
	if err != nil {
		return cfg, err
	}
	cfg.Threshold = t
	for _, name := range splitList(metrics) {
		m, err := report.MetricByName(name)
		if err != nil {
			return cfg, usageErr("compare: --metric: %v", err)
		}
		cfg.Metrics = append(cfg.Metrics, m)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageErr("compare: %v", err)
	}
	if err := report.CheckFormat(format, report.ComparisonFormats); err != nil {
		return cfg, usageErr("compare: %v", err)
	}
	return cfg, nil
}

// compare reads BASE and NEW, writes the comparison and says, by its
// exit status, whether it can decide and whether anything regressed.
func compare(cmd *cobra.Command, args []string, cfg report.CompareConfig, format string) error {
	var suites [2]*results.Suite
	for i, p := range args {
		var err error
		if suites[i], err = results.ReadSuite(p); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	ds, err := report.Compare(suites[0], suites[1], cfg)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("compare: %w", err)}
	}
	if err := report.WriteComparison(cmd.OutOrStdout(), ds, cfg, format); err != nil {
		return err
	}
	if undecided := report.Undecided(ds); len(undecided) > 0 {
		d := undecided[0]
		return &exitError{code: 2, err: fmt.Errorf("compare: too few samples to decide %d comparison(s) (e.g. %s, %s: %d vs %d runs); a Mann-Whitney test needs ≥ %d runs per side to reach p < %v: use iobench run --repeat %d (or load --repeat %d)",
			len(undecided), d.Model, d.Metric, d.Base.N, d.New.N, d.Need, cfg.Alpha, max(d.Need, 10), max(d.Need, 10))}
	}
	// A verdict is reached: what may explain it besides the code, first.
	for _, c := range report.Caveats(suites[0], suites[1]) {
		fmt.Fprintf(cmd.ErrOrStderr(), "iobench: compare: note: %s\n", c)
	}
	if failed := report.FailedCells(suites[1]); len(failed) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("compare: %d cell(s) failed in NEW, e.g. %s", len(failed), failed[0])}
	}
	if reg := report.Regressed(ds); len(reg) > 0 {
		d := reg[0]
		return &exitError{code: 1, err: fmt.Errorf("compare: %d regression(s), e.g. %s (%s) %s %+.1f%% (p=%.3f adjusted for %d comparisons)",
			len(reg), d.Model, d.Scenario, d.Metric, d.DeltaPct, d.PAdjusted, len(ds))}
	}
	return nil
}
