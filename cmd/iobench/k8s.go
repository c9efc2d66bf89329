package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/template"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// k8sFlags are the manifest's own settings; the load's are loadFlags,
// bound and validated exactly as `load` binds and validates them.
type k8sFlags struct {
	load      loadFlags
	shards    int
	startIn   time.Duration
	image     string
	storage   string
	class     string
	pull      string
	mergeWait time.Duration
}

// Flags k8s sets itself in every shard's command line.
var k8sOwned = []string{"shard", "start-at", "start-barrier", "json", "quiet", "hlog", "hgrm", "json-stream", "interval"}

func newK8sCmd() *cobra.Command {
	var f k8sFlags
	cmd := &cobra.Command{
		Use:   "k8s --shards N --addr HOST:PORT [load flags]",
		Short: "Print a Kubernetes manifest that runs a sharded load and merges it",
		Long: `Print, on stdout, a manifest to kubectl apply as is: a ReadWriteMany volume
claim, an Indexed Job of N pods — pod I runs iobench load --shard I/N with
every load flag given here, all starting their warmup at one instant — and
a merge Job that waits for every shard's JSON (iobench merge --wait) and
merges them into /results/merged.json. N is written once; the start instant
is computed (--start-in) or given (--start-at). Every load flag is checked
exactly as load checks it: a bad one exits 2 before anything is printed.

The image (--image, default iobench:latest) is the one make image builds
(see docs/distributed.md): the static binary at /iobench, FROM scratch.`,
		Example: `  iobench k8s --shards 3 --addr 10.0.0.5:7000 --conns 3000 --duration 30s --start-in 90s > shards.yaml
  kubectl apply -f shards.yaml && kubectl wait --for=condition=complete job/iobench-merge --timeout=15m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return k8s(cmd, f, time.Now()) },
	}
	fl := cmd.Flags()
	bindLoadFlags(fl, &f.load)
	fl.IntVar(&f.shards, "shards", 0, "pods, each running 1/N of the load (required)")
	fl.DurationVar(&f.startIn, "start-in", 90*time.Second, "the shards begin their warmup this long after the manifest is printed (pods must be scheduled and connected by then)")
	fl.StringVar(&f.image, "image", "iobench:latest", "the image holding /iobench (make image)")
	fl.StringVar(&f.storage, "storage", "1Gi", "size of the shared results volume")
	fl.StringVar(&f.class, "storage-class", "", "storage class of the results volume: one that offers ReadWriteMany (e.g. an NFS class; default: the cluster's default class)")
	fl.StringVar(&f.pull, "pull-policy", "IfNotPresent", "the pods' imagePullPolicy: IfNotPresent (an image loaded into the nodes, e.g. kind load, is used as is), Always or Never")
	fl.DurationVar(&f.mergeWait, "merge-wait", 0, "how long the merge waits for every shard (default: the start, warmup and duration plus 5 minutes)")
	// The flags every shard's command line sets itself are not the
	// user's to give: not in the help either (given, they are refused).
	for _, name := range k8sOwned {
		if name != "start-at" {
			_ = fl.MarkHidden(name) // each is a load flag bound above
		}
	}
	return cmd
}

func k8s(cmd *cobra.Command, f k8sFlags, now time.Time) error {
	startAt := f.load.startAt // load's --start-at: the instant itself, instead of --start-in
	if err := f.checkManifestFlags(cmd); err != nil {
		return err
	}
	switch {
	case f.shards < 1:
		return usageErr("k8s: --shards %d: want at least 1 pod", f.shards)
	case f.load.cfg.Conns < f.shards:
		return usageErr("k8s: --conns %d over --shards %d: every shard needs a busy connection", f.load.cfg.Conns, f.shards)
	case startAt == "" && f.startIn < 10*time.Second:
		return usageErr("k8s: --start-in %v: want at least 10s, for the pods to be scheduled and connected", f.startIn)
	}
	start := now.Add(f.startIn).UTC().Truncate(time.Second)
	if startAt != "" {
		t, err := time.Parse(time.RFC3339, startAt)
		if err != nil {
			return usageErr("k8s: --start-at %q: want an RFC 3339 time such as 2026-11-26T10:00:00Z", startAt)
		}
		start = t.UTC()
		if !start.After(now) {
			return usageErr("k8s: --start-at %s is already past (now %s)", start.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	// Validate as load will, as shard 0 of N (the one with the most).
	check := f.load
	check.shard, check.startAt = fmt.Sprintf("0/%d", f.shards), start.Format(time.RFC3339)
	if err := check.checkSettings(start.Add(-time.Second)); err != nil {
		return err
	}
	if f.mergeWait == 0 {
		f.mergeWait = time.Until(start) + check.cfg.Warmup + check.cfg.Duration + 5*time.Minute
		if startAt != "" || f.mergeWait < 5*time.Minute {
			f.mergeWait = check.cfg.Warmup + check.cfg.Duration + 10*time.Minute
		}
		f.mergeWait = f.mergeWait.Round(time.Minute)
	}
	// The load flags given, passed on as given.
	var args, all []string
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		all = append(all, "--"+fl.Name, fl.Value.String())
		if fl.Name == "shards" || fl.Name == "start-in" || fl.Name == "start-at" || fl.Name == "image" || fl.Name == "storage" ||
			fl.Name == "storage-class" || fl.Name == "pull-policy" || fl.Name == "merge-wait" {
			return
		}
		args = append(args, "--"+fl.Name, fl.Value.String())
	})
	return writeManifest(cmd.OutOrStdout(), manifest{
		N: f.shards, Image: f.image, Storage: f.storage, Class: f.class, Pull: f.pull, StartAt: start.Format(time.RFC3339),
		LoadArgs: args, MergeWait: f.mergeWait.String(), Command: "iobench k8s " + strings.Join(quoteAll(all), " "),
	})
}

// checkManifestFlags refuses what would write YAML of its own or what
// Kubernetes would refuse: control characters in any flag, an image,
// storage, storage class or pull policy of the wrong syntax, and the load
// flags the manifest sets itself.
func (f k8sFlags) checkManifestFlags(cmd *cobra.Command) error {
	var given []string
	var control string
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		given = append(given, fl.Name)
		if strings.ContainsFunc(fl.Value.String(), unicode.IsControl) && control == "" {
			control = fl.Name
		}
	})
	// A manifest is YAML: a newline in a value would add keys of its own.
	if control != "" {
		return usageErr("k8s: --%s holds a control character (a newline?): refused, it would write YAML of its own", control)
	}
	if !imageRef.MatchString(f.image) {
		return usageErr("k8s: --image %q: want an image reference such as registry.example.com/iobench:1.2 (letters, digits, . _ - / : @)", f.image)
	}
	if !quantity.MatchString(f.storage) {
		return usageErr("k8s: --storage %q: want a Kubernetes quantity such as 1Gi or 500Mi", f.storage)
	}
	if f.class != "" && !dnsName.MatchString(f.class) {
		return usageErr("k8s: --storage-class %q: want a storage class name (lower-case letters, digits, - and .)", f.class)
	}
	switch f.pull {
	case "IfNotPresent", "Always", "Never":
	default:
		return usageErr("k8s: --pull-policy %q: want IfNotPresent, Always or Never", f.pull)
	}
	for _, name := range given {
		for _, owned := range k8sOwned {
			if name == owned && name != "start-at" {
				return usageErr("k8s: --%s is set by the manifest for every shard; leave it out", name)
			}
		}
	}
	return nil
}

// imageRef and quantity are what --image and --storage may hold: an
// image reference (name[:tag][@digest]) and a storage quantity.
var (
	imageRef = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`)
	quantity = regexp.MustCompile(`^[0-9]+(?:\.[0-9]+)?(?:Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$`)
	dnsName  = regexp.MustCompile(`^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$`)
)

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \"'$") {
			a = fmt.Sprintf("%q", a)
		}
		out[i] = a
	}
	return out
}

type manifest struct {
	N         int
	Image     string
	Storage   string
	Class     string // "": the cluster's default
	Pull      string
	StartAt   string
	LoadArgs  []string
	MergeWait string
	Command   string
}

func (m manifest) Shards() []int {
	s := make([]int, m.N)
	for i := range s {
		s[i] = i
	}
	return s
}

// yamlQuote writes s as a double-quoted scalar: a JSON string is one in
// YAML, whatever it holds, so every value the manifest writes is quoted
// and none can add keys of its own.
func yamlQuote(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

var manifestTmpl = template.Must(template.New("k8s").Funcs(template.FuncMap{"q": yamlQuote}).Parse(`# Sharded load from {{.N}} pods, merged exactly. Generated by:
#   {{.Command}}
# kubectl apply -f this file; then
#   kubectl wait --for=condition=complete job/iobench-merge --timeout={{.MergeWait}}
# and read /results/merged.json from the volume (docs/distributed.md).
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: iobench-results
spec:
  accessModes: ["ReadWriteMany"]
{{- if .Class}}
  storageClassName: {{q .Class}}
{{- end}}
  resources:
    requests:
      storage: {{q .Storage}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: iobench-load
spec:
  completionMode: Indexed
  completions: {{.N}}
  parallelism: {{.N}} # every shard at once, or the start instant is missed
  backoffLimit: 0 # a failed shard is not rerun with another start
  template:
    metadata:
      labels:
        app: iobench-load
    spec:
      restartPolicy: Never
      # Shards on different nodes where there are enough: two on one
      # node share its CPUs and network and measure less.
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector:
                  matchLabels:
                    app: iobench-load
      containers:
        - name: load
          image: {{q .Image}}
          imagePullPolicy: {{q .Pull}}
          command: ["/iobench"]
          args:
            - load
{{- range .LoadArgs}}
            - {{q .}}
{{- end}}
            - --shard
            - {{q (print "$(JOB_COMPLETION_INDEX)/" .N)}}
            - --start-at
            - {{q .StartAt}}
            - --start-barrier
            - "/results"
            - --quiet
            - --json
            - "/results/shard-$(JOB_COMPLETION_INDEX).json"
          volumeMounts:
            - name: results
              mountPath: /results
      volumes:
        - name: results
          persistentVolumeClaim:
            claimName: iobench-results
---
apiVersion: batch/v1
kind: Job
metadata:
  name: iobench-merge
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: merge
          image: {{q .Image}}
          imagePullPolicy: {{q .Pull}}
          command: ["/iobench"]
          args:
            - merge
            - --wait
            - {{q .MergeWait}}
            - /results/merged.json
{{- range .Shards}}
            - {{q (print "/results/shard-" . ".json")}}
{{- end}}
          volumeMounts:
            - name: results
              mountPath: /results
      volumes:
        - name: results
          persistentVolumeClaim:
            claimName: iobench-results
`))

func writeManifest(w io.Writer, m manifest) error { return manifestTmpl.Execute(w, m) }
