package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"iobench/loadgen"
	"iobench/report"
	"iobench/results"
)

// bindRepeatFlags binds load's repetitions: what makes a suite of a
// server iobench did not start, for compare to gate on.
func bindRepeatFlags(fl *pflag.FlagSet, f *loadFlags) {
	fl.IntVar(&f.repeat, "repeat", 1, "run the load this many times, one after another; with --json, writes them as a suite (one cell per repetition) that compare gates on")
	fl.StringVar(&f.label, "label", "", "with --repeat: the server's name in the suite, so that suites of one server on different ports compare (default: \"server HOST:PORT\")")
}

// checkRepeat refuses what repetitions can't be combined with.
func (f *loadFlags) checkRepeat() error {
	switch {
	case f.repeat < 1:
		return usageErr("load: --repeat %d: want at least 1", f.repeat)
	case f.repeat == 1 && f.label != "":
		return usageErr("load: --label names the server in the suite --repeat writes: give --repeat N (N ≥ 2) too")
	case f.repeat > 1 && (f.shard != "" || f.hgrm != "" || f.hlog != "" || f.jsonStream):
		return usageErr("load: --repeat writes a suite: it does not combine with --shard, --hgrm, --hlog or --json-stream")
	case strings.ContainsFunc(f.label, func(r rune) bool { return r < ' ' }):
		return usageErr("load: --label %q holds a control character", f.label)
	}
	return nil
}

// loadRepeated runs the load f.repeat times, prints each repetition's
// summary and the spread over them, and writes the suite to --json. An
// interrupted or failed repetition ends the series: what was measured is
// written all the same (exit 130 or 1).
func loadRepeated(ctx context.Context, cmd *cobra.Command, f loadFlags) error {
	summary := cmd.OutOrStdout()
	if f.json == "-" {
		summary = cmd.ErrOrStderr()
	}
	var runs []*results.Run
	var stopped error
	for i := range f.repeat {
		fmt.Fprintf(summary, "repetition %d of %d\n", i+1, f.repeat)
		run, err := loadgen.Run(ctx, f.cfg)
		if err != nil {
			stopped = err
			break
		}
		runs = append(runs, run)
		if err := report.WriteRun(summary, run); err != nil {
			return err
		}
		if run.Interrupted {
			stopped = &exitError{code: 130, err: fmt.Errorf("interrupted in repetition %d of %d; the %d measured written", i+1, f.repeat, len(runs))}
			break
		}
	}
	if len(runs) == 0 {
		return stopped
	}
	s := results.RunsSuite(f.label, runs...)
	var err error
	switch f.json {
	case "":
	case "-":
		err = s.Write(cmd.OutOrStdout())
	default:
		err = s.WriteFile(f.json)
	}
	if err == nil {
		err = report.WriteTerminal(summary, s, false)
	}
	if err != nil {
		return errors.Join(err, stopped)
	}
	if stopped != nil {
		return stopped
	}
	var failed []string
	for i, r := range runs {
		if r.Failed() {
			failed = append(failed, fmt.Sprintf("repetition %d: %s", i+1, strings.Join(results.Lines(r.Failures), "; ")))
		}
	}
	if len(failed) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("load: %d of %d repetitions failed, e.g. %s", len(failed), len(runs), failed[0])}
	}
	return nil
}
