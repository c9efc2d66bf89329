package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The shards' start barrier (load --start-barrier DIR): every shard
// writes, in a folder they all see (the Kubernetes Jobs' shared volume),
// when it finished connecting, waits for the others' files, and begins
// at the later of --start-at and the last of them plus barrierMargin. All
// read the same files, so all agree on the instant; a slow image pull or
// a late node moves the start for every shard instead of making one
// shard miss it.
const (
	barrierMargin = 2 * time.Second
	// barrierWait is how long after --start-at a shard waits for the
	// others before giving up (naming those still missing).
	barrierWait = 10 * time.Minute
	barrierPoll = 100 * time.Millisecond
)

// startBarrier is loadgen.Config.StartBarrier for shard index of count
// asked to start at startAt.
func startBarrier(dir string, index, count int, startAt time.Time) func(context.Context) (time.Time, error) {
	name := func(i int) string {
		return filepath.Join(dir, fmt.Sprintf(".iobench-ready-%d-%d-of-%d", startAt.Unix(), i, count))
	}
	return func(ctx context.Context) (time.Time, error) {
		tmp := name(index) + ".tmp"
		if err := os.WriteFile(tmp, []byte(time.Now().UTC().Format(time.RFC3339Nano)), 0o644); err != nil {
			return time.Time{}, err
		}
		if err := os.Rename(tmp, name(index)); err != nil {
			return time.Time{}, err
		}
		deadline := startAt.Add(barrierWait)
		for {
			latest, missing := startAt, []string(nil)
			for i := range count {
				b, err := os.ReadFile(name(i))
				if err != nil {
					missing = append(missing, fmt.Sprint(i))
					continue
				}
				t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
				if err != nil {
					return time.Time{}, fmt.Errorf("%s: not a shard's ready time: %w", name(i), err)
				}
				if t.Add(barrierMargin).After(latest) {
					latest = t.Add(barrierMargin)
				}
			}
			if len(missing) == 0 {
				return latest, nil
			}
			if time.Now().After(deadline) {
				return time.Time{}, fmt.Errorf("shard(s) %s of %d not connected %v after --start-at (no ready file in %s)", strings.Join(missing, ", "), count, barrierWait, dir)
			}
			select {
			case <-ctx.Done():
				return time.Time{}, ctx.Err()
			case <-time.After(barrierPoll):
			}
		}
	}
}
