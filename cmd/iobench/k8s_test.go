package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// update rewrites the checked-in files the tests compare against.
var update = flag.Bool("update", false, "rewrite docs/k8s from iobench k8s")

// k8sDocArgs generate the checked-in docs/k8s manifest.
var k8sDocArgs = []string{"k8s", "--shards", "3", "--addr", "10.0.0.5:7000", "--conns", "3000", "--duration", "30s", "--warmup", "5s",
	"--start-at", "2030-01-01T10:00:00Z"}

// TestK8sManifest: the checked-in docs/k8s manifest is what iobench k8s
// prints (go test ./cmd/iobench -update rewrites it), and what it prints
// runs N shards as an Indexed Job, all at once, never retried, each with
// --shard $(JOB_COMPLETION_INDEX)/N and the one start instant, and a
// merge that waits for all N shard files.
func TestK8sManifest(t *testing.T) {
	code, out, stderr := runCLI(k8sDocArgs...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	const doc = "../../docs/k8s/iobench-shards.yaml"
	if *update {
		if err := os.WriteFile(doc, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(doc); err != nil || string(b) != out {
		t.Errorf("%s differs from what iobench %s prints (go test ./cmd/iobench -update rewrites it)", doc, strings.Join(k8sDocArgs, " "))
	}
	type container struct {
		Command []string `yaml:"command"`
		Args    []string `yaml:"args"`
	}
	type doc_ struct {
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
	var load, merge *doc_
	var loadArgs, mergeArgs []string
	dec := yaml.NewDecoder(bytes.NewReader([]byte(out)))
	for {
		var d doc_
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if d.Kind != "Job" || len(d.Spec.Template.Spec.Containers) != 1 {
			continue
		}
		c := d.Spec.Template.Spec.Containers[0]
		switch {
		case len(c.Args) > 0 && c.Args[0] == "load":
			load, loadArgs = &d, c.Args
		case len(c.Args) > 0 && c.Args[0] == "merge":
			merge, mergeArgs = &d, c.Args
		}
	}
	if load == nil || merge == nil {
		t.Fatalf("want a load Job and a merge Job (load %v, merge %v)", load != nil, merge != nil)
	}
	s := load.Spec
	if s.CompletionMode != "Indexed" || s.Completions == nil || *s.Completions != 3 || s.Parallelism == nil || *s.Parallelism != 3 || s.BackoffLimit == nil || *s.BackoffLimit != 0 {
		t.Fatalf("load Job: completionMode %q, completions %v, parallelism %v, backoffLimit %v; want Indexed, 3, 3, 0",
			s.CompletionMode, s.Completions, s.Parallelism, s.BackoffLimit)
	}
	line := strings.Join(loadArgs, " ")
	for _, want := range []string{"--shard $(JOB_COMPLETION_INDEX)/3", "--start-at 2030-01-01T10:00:00Z", "--conns 3000", "--json /results/shard-$(JOB_COMPLETION_INDEX).json"} {
		if !strings.Contains(line, want) {
			t.Errorf("load args %q lack %q", line, want)
		}
	}
	mline := strings.Join(mergeArgs, " ")
	if !strings.Contains(mline, "merge --wait ") || !strings.HasSuffix(mline, "/results/shard-0.json /results/shard-1.json /results/shard-2.json") {
		t.Errorf("merge args %q: want --wait and all three shard files", mline)
	}
	// A bad load flag, an owned flag, too few connections: exit 2, nothing printed.
	for _, args := range [][]string{
		{"k8s", "--shards", "2", "--addr", "x:1", "--conns", "4", "--depth", "0"},
		{"k8s", "--shards", "2", "--addr", "x:1", "--conns", "4", "--json", "a.json"},
		{"k8s", "--shards", "4", "--addr", "x:1", "--conns", "2"},
		{"k8s", "--shards", "2", "--addr", "x:1", "--conns", "4", "--start-at", "2001-01-01T00:00:00Z"},
		{"k8s", "--addr", "x:1"},
	} {
		code, out, stderr := runCLI(args...)
		if code != 2 || out != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("iobench %s: exit %d, stdout %q, stderr %q; want exit 2, one line, nothing printed", strings.Join(args, " "), code, out, stderr)
		}
	}
}

// TestMergeWait: merge --wait waits for shard files, fails at once on a
// shard's failure marker, and names the shards still missing at its end.
func TestMergeWait(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/s1.json.failed", []byte("loadgen: no connection could be established\n"), 0o644)
	code, _, stderr := runCLI("merge", "--wait", "5s", dir+"/all.json", dir+"/s0.json", dir+"/s1.json")
	if code != 1 || !strings.Contains(stderr, "s1.json failed: loadgen: no connection") {
		t.Errorf("a failed shard: exit %d, %q", code, stderr)
	}
	os.Remove(dir + "/s1.json.failed")
	code, _, stderr = runCLI("merge", "--wait", "1s", dir+"/all.json", dir+"/s0.json", dir+"/s1.json")
	if code != 1 || !strings.Contains(stderr, "2 of 2 shards are missing") {
		t.Errorf("missing shards: exit %d, %q", code, stderr)
	}
}

// TestLoadFailureMarker: a load that fails before measuring leaves
// FILE.failed beside the --json FILE it could not write, with the reason.
func TestLoadFailureMarker(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	code, _, _ := runCLI("load", "--addr", closed, "--duration", "1s", "--json", dir+"/s0.json")
	b, err := os.ReadFile(dir + "/s0.json.failed")
	if code != 1 || err != nil || !strings.Contains(string(b), "ECONNREFUSED") {
		t.Errorf("exit %d, marker %q, %v; want exit 1 and the reason in s0.json.failed", code, b, err)
	}
}

// TestK8sRefusesInjection: a newline (or any control character) in any
// flag, an image that is no image reference, a storage that is no
// quantity: one line, exit 2, no manifest.
func TestK8sRefusesInjection(t *testing.T) {
	base := []string{"k8s", "--shards", "2", "--addr", "10.0.0.5:7000", "--conns", "10"}
	for _, extra := range [][]string{
		{"--image", "iobench:1\nsecurityContext: {privileged: true}"},
		{"--storage", "1Gi\n  limits: {storage: 1Ti}"},
		{"--addr", "10.0.0.5:7000\nx: y"},
		{"--image", "Iobench Latest"},
		{"--storage", "lots"},
		{"--storage-class", "Fast Disks"},
		{"--pull-policy", "Sometimes"},
	} {
		code, out, stderr := runCLI(append(slices.Clone(base), extra...)...)
		if code != 2 || out != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("k8s %q: exit %d, %d bytes of manifest, stderr %q; want 2, none, one line", extra, code, len(out), stderr)
		}
	}
	if code, _, stderr := runCLI(append(slices.Clone(base), "--image", "registry.example.com:5000/team/iobench:1.2@sha256:"+strings.Repeat("a", 64), "--storage", "500Mi")...); code != 0 {
		t.Errorf("a valid image and storage refused: %s", stderr)
	}
}

// TestK8sStrictDecode: the manifest decodes strictly (no key but those
// iobench writes) into three documents, and each field holds exactly what
// was given, even values with YAML's own characters in them.
func TestK8sStrictDecode(t *testing.T) {
	image := "registry.example.com:5000/team/iobench:1.2@sha256:" + strings.Repeat("a", 64)
	code, out, stderr := runCLI("k8s", "--shards", "2", "--addr", "[::1]:7000", "--conns", "10", "--image", image, "--storage", "1.5Gi", "--storage-class", "nfs-client",
		"--size", "32-256", "--start-at", "2030-01-01T10:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	type container struct {
		Name         string   `yaml:"name"`
		Image        string   `yaml:"image"`
		Pull         string   `yaml:"imagePullPolicy"`
		Command      []string `yaml:"command"`
		Args         []string `yaml:"args"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	type document struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec struct {
			AccessModes []string `yaml:"accessModes"`
			Class       string   `yaml:"storageClassName"`
			Resources   struct {
				Requests struct {
					Storage string `yaml:"storage"`
				} `yaml:"requests"`
			} `yaml:"resources"`
			CompletionMode string `yaml:"completionMode"`
			Completions    int    `yaml:"completions"`
			Parallelism    int    `yaml:"parallelism"`
			BackoffLimit   int    `yaml:"backoffLimit"`
			Template       struct {
				Metadata struct {
					Labels map[string]string `yaml:"labels"`
				} `yaml:"metadata"`
				Spec struct {
					Affinity struct {
						PodAntiAffinity struct {
							Preferred []struct {
								Weight int `yaml:"weight"`
								Term   struct {
									TopologyKey   string `yaml:"topologyKey"`
									LabelSelector struct {
										MatchLabels map[string]string `yaml:"matchLabels"`
									} `yaml:"labelSelector"`
								} `yaml:"podAffinityTerm"`
							} `yaml:"preferredDuringSchedulingIgnoredDuringExecution"`
						} `yaml:"podAntiAffinity"`
					} `yaml:"affinity"`
					RestartPolicy string      `yaml:"restartPolicy"`
					Containers    []container `yaml:"containers"`
					Volumes       []struct {
						Name                  string `yaml:"name"`
						PersistentVolumeClaim struct {
							ClaimName string `yaml:"claimName"`
						} `yaml:"persistentVolumeClaim"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	dec := yaml.NewDecoder(strings.NewReader(out))
	dec.KnownFields(true)
	var docs []document
	for {
		var d document
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("strict decode: %v", err)
		}
		docs = append(docs, d)
	}
	if len(docs) != 3 || docs[0].Kind != "PersistentVolumeClaim" || docs[1].Kind != "Job" || docs[2].Kind != "Job" {
		t.Fatalf("%d documents; want a claim and two Jobs", len(docs))
	}
	if got, class := docs[0].Spec.Resources.Requests.Storage, docs[0].Spec.Class; got != "1.5Gi" || class != "nfs-client" {
		t.Errorf("storage %q of class %q, want 1.5Gi of nfs-client", got, class)
	}
	spec := docs[1].Spec.Template
	if aa := spec.Spec.Affinity.PodAntiAffinity.Preferred; len(aa) != 1 || aa[0].Term.TopologyKey != "kubernetes.io/hostname" ||
		aa[0].Term.LabelSelector.MatchLabels["app"] != spec.Metadata.Labels["app"] || spec.Metadata.Labels["app"] == "" {
		t.Errorf("load pods: labels %v, anti-affinity %+v; want shards kept apart by host", spec.Metadata.Labels, aa)
	}
	load, merge := docs[1].Spec.Template.Spec.Containers, docs[2].Spec.Template.Spec.Containers
	if len(load) != 1 || len(merge) != 1 || load[0].Image != image || merge[0].Image != image || load[0].Pull != "IfNotPresent" || merge[0].Pull != "IfNotPresent" {
		t.Fatalf("containers %+v %+v; want one each, image %q", load, merge, image)
	}
	want := []string{"load", "--addr", "[::1]:7000", "--conns", "10", "--size", "32-256", "--shard", "$(JOB_COMPLETION_INDEX)/2",
		"--start-at", "2030-01-01T10:00:00Z", "--start-barrier", "/results", "--quiet", "--json", "/results/shard-$(JOB_COMPLETION_INDEX).json"}
	if !slices.Equal(load[0].Args, want) {
		t.Errorf("load args %q\nwant %q", load[0].Args, want)
	}
	if got := merge[0].Args; len(got) != 6 || got[0] != "merge" || got[4] != "/results/shard-0.json" || got[5] != "/results/shard-1.json" {
		t.Errorf("merge args %q", got)
	}
}
