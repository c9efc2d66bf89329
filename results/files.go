package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
)

// Reading and writing documents: atomic writes, bounded reads, the
// schema and kind checked before a strict decode, and a run's values
// checked against each other.

// Write writes r as indented JSON.
func (r *Run) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteFile writes r to path, replacing it whole or not at all.
func (r *Run) WriteFile(path string) error { return writeJSONFile(path, r) }

func writeFileAtomic(path string, data []byte) error {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		// A device or pipe (/dev/stdout): write through, nothing to replace.
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("results: %w", err)
		}
		_, err = f.Write(data)
		return errors.Join(err, f.Close())
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("results: %w", err)
	}
	return nil
}

// ErrSchema is returned for a run of another schema version.
var ErrSchema = errors.New("unsupported schema version")

// decodeVersioned decodes data into v, strictly (no unknown fields, and
// within the limits of checkShape),
// after checking its schema version and, when kind is not "", its kind:
// the one reader of every versioned document this package owns.
func decodeVersioned(data []byte, what, kind string, v any) error {
	probe, err := readHead(data)
	if err != nil {
		return fmt.Errorf("results: not an iobench %s: %w", what, err)
	}
	if probe.Schema == nil || probe.Kind != kind {
		return fmt.Errorf("results: not an iobench %s (no \"schema\" field, or \"kind\" is not %q)", what, kind)
	}
	if *probe.Schema != SchemaVersion && !slices.Contains(ReadsSchemas, *probe.Schema) {
		return fmt.Errorf("results: %w %d (this iobench reads %d and %v)", ErrSchema, *probe.Schema, SchemaVersion, ReadsSchemas)
	}
	// Checked first, without decoding: then decoded in place (an
	// encoding/json Decoder would copy the whole document first).
	if err := checkShape(data, reflect.TypeOf(v)); err != nil {
		return fmt.Errorf("results: malformed %s: %w", what, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("results: malformed %s: %w", what, err)
	}
	return nil
}

// head is what a document says it is: its schema version and kind.
type head struct {
	Schema *int   `json:"schema"`
	Kind   string `json:"kind"`
}

// readHead finds the top-level "schema" and "kind" of a JSON document.
// iobench writes them first, so it reads tokens only up to the first
// object or array (a suite's cells come after): the document is parsed
// in full once, by the decode that follows. A document that puts them
// later (written by hand) is parsed for them in full.
func readHead(data []byte) (head, error) {
	var h head
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		if err == nil {
			err = fmt.Errorf("a JSON object was expected, not %v", t)
		}
		return h, err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return h, err
		}
		t, err := dec.Token()
		if err != nil {
			return h, err
		}
		if _, nested := t.(json.Delim); nested {
			break // the rest is data: look no further this way
		}
		switch k {
		case "schema":
			n, ok := t.(json.Number)
			v, err := n.Int64()
			if !ok || err != nil || v != int64(int(v)) {
				return h, fmt.Errorf("\"schema\" is %v, not a version number", t)
			}
			i := int(v)
			h.Schema = &i
		case "kind":
			str, ok := t.(string)
			if !ok {
				return h, fmt.Errorf("\"kind\" is %v, not a string", t)
			}
			h.Kind = str
		}
		if h.Schema != nil && h.Kind != "" {
			return h, nil
		}
	}
	var full head
	if err := json.Unmarshal(data, &full); err != nil {
		return h, err
	}
	return full, nil
}

// writeJSONFile writes v as indented JSON to path, whole or not at all.
func writeJSONFile(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return writeFileAtomic(path, buf.Bytes())
}

// DecodeRun parses and checks one run.
func DecodeRun(data []byte) (*Run, error) {
	var r Run
	if err := decodeVersioned(data, "run", "", &r); err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("results: malformed run: %w", err)
	}
	return &r, nil
}

// check rejects values no run can have: what `report`, `compare` and
// `merge` would otherwise print or add up as if measured.
func (r *Run) check() error {
	c := r.Config
	p := r.LatencyNS
	switch {
	case c.Conns < 0 || c.IdleConns < 0 || c.Depth < 0 || c.SizeMin < 0 || c.SizeMax < c.SizeMin || c.Workers < 0 || c.DurationNS < 0 || c.WarmupNS < 0:
		return errors.New("negative or inverted settings (conns, depth, size, workers or durations)")
	case p.P50 < 0 || p.P99 < 0 || p.Max < 0 || p.P50 > p.P99 && p.P99 > 0:
		return errors.New("impossible latency percentiles")
	case math.IsNaN(r.Fairness.Jain) || r.Fairness.Jain < 0 || r.Fairness.Jain > 1.000001:
		return errors.New("fairness outside [0, 1]")
	case r.Shard != nil && (r.Shard.Count < 1 || r.Shard.Index < 0 || r.Shard.Index >= r.Shard.Count):
		return fmt.Errorf("shard %d/%d: want 0 ≤ index < count", r.Shard.Index, r.Shard.Count)
	case r.MeasuredNS < 0:
		return errors.New("negative measured_ns")
	case math.IsNaN(r.ThroughputPerSec) || r.ThroughputPerSec < 0 || r.ThroughputPerSec > MaxThroughput || math.IsNaN(r.BytesPerSec) || r.BytesPerSec < 0 || math.IsInf(r.BytesPerSec, 0):
		return fmt.Errorf("throughput_per_sec %g (or bytes_per_sec %g): want 0 to %g", r.ThroughputPerSec, r.BytesPerSec, float64(MaxThroughput))
	case r.Replies > 0 && r.MeasuredNS == 0:
		return fmt.Errorf("%d replies in a window of 0 ns", r.Replies)
	case len(r.Shards) == 0 && r.MeasuredNS > 0 && math.Abs(r.ThroughputPerSec-float64(r.Replies)/(float64(r.MeasuredNS)/1e9)) > 0.01*r.ThroughputPerSec+1:
		// (A merged run adds its shards' rates over windows of their own.)
		return fmt.Errorf("throughput_per_sec %g is not its %d replies over %d ns", r.ThroughputPerSec, r.Replies, r.MeasuredNS)
	case r.Connections.Requested < 0 || r.Connections.Established < 0 || r.Connections.Failed < 0:
		return errors.New("negative connection count")
	case r.Connections.Established+r.Connections.Failed > r.Connections.Requested:
		return errors.New("more connections established and failed than requested")
	}
	if len(r.ConnReplies) > 0 {
		var sum uint64
		for _, n := range r.ConnReplies {
			if sum+n < sum {
				return errors.New("connection_replies overflow")
			}
			sum += n
		}
		if sum != r.Replies {
			return fmt.Errorf("connection_replies add up to %d, replies is %d", sum, r.Replies)
		}
	}
	for name, s := range map[string]string{"latency": r.Histograms.Latency, "latency_uncorrected": r.Histograms.LatencyUncorrected, "connect": r.Histograms.Connect} {
		if _, err := DecodeHistogram(s); err != nil {
			return fmt.Errorf("histogram %s: %w", name, err)
		}
	}
	return nil
}

// MaxThroughput bounds a run's replies/s: far above what any one host
// can echo (a 64-byte round trip costs a few µs of CPU), far below a
// number that only a crafted file holds.
const MaxThroughput = 1e9

// MaxFileSize bounds every results file iobench reads: far above any real
// run or suite (a 5-repetition 140-cell suite is ~3 MB), far below what
// would take minutes and gigabytes to decode.
const MaxFileSize = 256 << 20

// readBounded reads path, refusing files over MaxFileSize.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	// A regular file says its size: refused before a byte is read, and
	// read into a buffer of its size (io.ReadAll's doubling would peak
	// near twice it).
	var data []byte
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		if st.Size() > MaxFileSize {
			return nil, fmt.Errorf("results: %s is larger than %d MiB (%d MiB), more than any iobench result: refused", path, MaxFileSize>>20, st.Size()>>20)
		}
		data = make([]byte, 0, st.Size()+1) // +1: sees a file that grew
	}
	data, err = readAllInto(data, io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("results: %s is larger than %d MiB, more than any iobench result: refused", path, MaxFileSize>>20)
	}
	return data, nil
}

// readAllInto appends all of r to buf, growing it only when full.
func readAllInto(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// ReadRunFile reads and checks the run in path.
func ReadRunFile(path string) (*Run, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	r, err := DecodeRun(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// WriteFile writes s to path atomically.
func (s *Suite) WriteFile(path string) error { return writeJSONFile(path, s) }

// Write writes s as indented JSON.
func (s *Suite) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// DecodeSuite parses and checks a suite.
func DecodeSuite(data []byte) (*Suite, error) {
	var s Suite
	if err := decodeVersioned(data, "suite", "suite", &s); err != nil {
		return nil, err
	}
	for i, c := range s.Cells {
		if c.Run != nil {
			if err := c.Run.check(); err != nil {
				return nil, fmt.Errorf("results: malformed suite: cell %d (%s): %w", i, c.Model, err)
			}
		}
	}
	return &s, nil
}

// ReadSuite reads a suite from a results.json file or a folder holding
// one. A single run (load --json, or a merge of shards) is read as a
// suite of one cell, named after the server it measured.
func ReadSuite(path string) (*Suite, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "results.json")
	}
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	h, err := readHead(data)
	if err != nil {
		return nil, fmt.Errorf("%s: results: not an iobench suite or run: %w", path, err)
	}
	if h.Kind == KindReport {
		return nil, fmt.Errorf("%s is iobench report's JSON (the tables' medians), not a suite: give the results.json it was made from, whose repetitions are the samples", path)
	}
	if h.Kind == "" { // a run (load --json, merge) has no kind
		r, err := DecodeRun(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return RunSuite(r), nil
	}
	s, err := DecodeSuite(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// KindReport is the "kind" of `report --format json`'s document: tables
// of medians, which no command reads back.
const KindReport = "report"
