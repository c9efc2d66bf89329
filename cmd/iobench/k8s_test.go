package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestK8sRecipe: the Kubernetes manifest in docs/k8s runs N shards as an
// Indexed Job, all at once, never retried, each with its own --shard I/N,
// and merges them.
func TestK8sRecipe(t *testing.T) {
	data, err := os.ReadFile("../../docs/k8s/iobench-shards.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type container struct {
		Command []string `yaml:"command"`
		Args    []string `yaml:"args"`
	}
	type doc struct {
		Kind string `yaml:"kind"`
		Spec struct {
			CompletionMode string `yaml:"completionMode"`
			Completions    *int   `yaml:"completions"`
			Parallelism    *int   `yaml:"parallelism"`
			BackoffLimit   *int   `yaml:"backoffLimit"`
			Template       struct {
				Spec struct {
					Containers []container `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	var load, merge *doc
	var loadCmd string
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var d doc
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if d.Kind != "Job" {
			continue
		}
		cmdline := ""
		for _, c := range d.Spec.Template.Spec.Containers {
			cmdline += strings.Join(append(c.Command, c.Args...), " ")
		}
		switch {
		case strings.Contains(cmdline, "iobench load"):
			load, loadCmd = &d, cmdline
		case strings.Contains(cmdline, "iobench merge"):
			merge = &d
		}
	}
	if load == nil || merge == nil {
		t.Fatalf("want a load Job and a merge Job (load %v, merge %v)", load != nil, merge != nil)
	}
	s := load.Spec
	if s.CompletionMode != "Indexed" || s.Completions == nil || s.Parallelism == nil || *s.Completions != *s.Parallelism || s.BackoffLimit == nil || *s.BackoffLimit != 0 {
		t.Fatalf("load Job: completionMode %q, completions %v, parallelism %v, backoffLimit %v; want Indexed, N = N, 0",
			s.CompletionMode, s.Completions, s.Parallelism, s.BackoffLimit)
	}
	m := regexp.MustCompile(`--shard "?\$\{?JOB_COMPLETION_INDEX\}?/(\d+)"?`).FindStringSubmatch(loadCmd)
	if m == nil {
		t.Fatalf("load command %q has no --shard $JOB_COMPLETION_INDEX/N", loadCmd)
	}
	if n, _ := strconv.Atoi(m[1]); n != *s.Completions {
		t.Errorf("--shard .../%d but completions %d", n, *s.Completions)
	}
	if !strings.Contains(loadCmd, "--start-at") || !strings.Contains(loadCmd, "--json") {
		t.Errorf("load command %q lacks --start-at or --json", loadCmd)
	}
}
