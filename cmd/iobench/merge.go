package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"iobench/report"
	"iobench/results"
)

func newMergeCmd() *cobra.Command {
	var force bool
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "merge OUT.json SHARD.json...",
		Short: "Merge the shards of one load (load --shard I/N) into one run",
		Long: `Merge the JSON of every shard of one load (iobench load --shard I/N --json)
into one run in the same schema: counts summed, HdrHistograms merged exactly
(refused if a value would be dropped), fairness recomputed from every
connection's reply count, every shard's environment and start time kept, and
the largest start skew reported. Shards of different servers or settings,
duplicated or missing shards are refused with one line (exit 2). OUT.json is
not overwritten unless --force. With --wait D, shard files not there yet
are waited for, up to D (how the Kubernetes merge Job starts with the
shards); a shard whose load failed before measuring (its SHARD.json.failed,
written by load) fails the merge at once, and a shard still missing after
D is named (exit 1). Exit 1 when the merged run failed (a shard's
replies mismatched, connections were reset, no reply came).`,
		Example: `  iobench merge all.json shard-0.json shard-1.json shard-2.json
  iobench merge --wait 10m all.json /results/shard-0.json /results/shard-1.json
  iobench report all.json --format md`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageErr("merge: want OUT.json and at least one shard's JSON, got %d argument(s)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return merge(cmd, args[0], args[1:], force, wait) },
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace OUT.json if it exists")
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for shard files not there yet (0: they must exist)")
	return cmd
}

// merge merges shards into out (see newMergeCmd).
func merge(cmd *cobra.Command, out string, shards []string, force bool, wait time.Duration) error {
	if _, err := os.Stat(out); err == nil && !force {
		return usageErr("merge: %s exists; choose another name or add --force to replace it", out)
	}
	if err := checkOutputFile(out); err != nil {
		return usageErr("merge: %v", err)
	}
	if err := waitForShards(shards, wait); err != nil {
		return err
	}
	var runs []*results.Run
	for _, p := range shards {
		r, err := results.ReadRunFile(p)
		if err != nil {
			return usageErr("merge: %v", err)
		}
		runs = append(runs, r)
	}
	merged, err := results.MergeShards(runs)
	if errors.Is(err, results.ErrMerge) {
		return usageErr("merge: %v", err)
	}
	if err != nil {
		return err
	}
	if err := merged.WriteFile(out); err != nil {
		return usageErr("merge: can't write %s: %v", out, err) // a path that can't be written: exit 2, as README says
	}
	if err := report.WriteRun(cmd.OutOrStdout(), merged); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(cmd.OutOrStdout(), "merged %d shards into %s (largest start skew %s)\n", len(runs), out, report.Dur(merged.StartSkewNS)); err != nil {
		return err
	}
	if merged.Failed() {
		return &exitError{code: 1, err: fmt.Errorf("merge: the merged run failed: %s", strings.Join(results.Lines(merged.Failures), "; "))}
	}
	return nil
}

// waitForShards waits until every shard file exists, up to d: a shard's
// failure marker (SHARD.failed, see load) ends the wait at once.
func waitForShards(paths []string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		var missing []string
		for _, p := range paths {
			if b, err := os.ReadFile(p + ".failed"); err == nil {
				return &exitError{code: 1, err: fmt.Errorf("merge: shard %s failed: %s", p, strings.TrimSpace(string(b)))}
			}
			if _, err := os.Stat(p); err != nil {
				missing = append(missing, p)
			}
		}
		switch {
		case len(missing) == 0:
			return nil
		case d == 0:
			return nil // ReadRunFile says what is wrong with each
		case time.Now().After(deadline):
			return &exitError{code: 1, err: fmt.Errorf("merge: after waiting %s, %d of %d shards are missing: %s", d, len(missing), len(paths), strings.Join(missing, ", "))}
		}
		time.Sleep(time.Second)
	}
}
