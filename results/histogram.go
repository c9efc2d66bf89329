package results

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latency histograms: iobench's one range and precision, recording,
// their encoding in results (only iobench's own are read back), and the
// .hgrm text HdrHistogram's plotter reads.

// Histogram range: 1 µs to 60 s in nanoseconds, 3 significant figures.
const (
	HistLowest  = int64(time.Microsecond)
	HistHighest = int64(60 * time.Second)
	HistDigits  = 3
)

// NewHistogram returns an empty latency histogram in nanoseconds.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(HistLowest, HistHighest, HistDigits)
}

// Record adds v nanoseconds to h, clamping to the histogram's range so that
// an outlier is counted at the ceiling rather than dropped.
func Record(h *hdrhistogram.Histogram, v int64) { RecordN(h, v, 1) }

// RecordN records n values of v, clamped as Record does.
func RecordN(h *hdrhistogram.Histogram, v, n int64) {
	_ = h.RecordValues(min(max(v, 0), HistHighest), n)
}

// Histograms are HdrHistogram V2 compressed, base64 encoded.
type Histograms struct {
	Latency            string `json:"latency"`
	LatencyUncorrected string `json:"latency_uncorrected,omitempty"`
	// Lateness (rate mode) is the generator's own: each message's
	// actual send time minus its scheduled one.
	Lateness string `json:"lateness,omitempty"`
	Connect  string `json:"connect"`
}

// EncodeHistogram encodes h for Histograms.
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	if h == nil {
		return "", nil
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	return string(b), err
}

// DecodeHistogram decodes one of Histograms' fields.
// Only iobench's own histograms are read (its range and precision,
// checked in the header before the counts are allocated): a crafted one
// of range 1..2^62 at 5 digits costs ~50 MB and a second of CPU each.
func DecodeHistogram(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return nil, nil
	}
	if err := checkHistogramHeader(s); err != nil {
		return nil, fmt.Errorf("results: bad histogram: %w", err)
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("results: bad histogram: %w", err)
	}
	return h, nil
}

// checkHistogramHeader reads an encoded histogram's header (V2
// compressed: an 8-byte cookie and length, then zlib holding a 40-byte
// header: cookie, payload length, offset, digits, lowest, highest,
// ratio) and accepts only NewHistogram's range and precision.
func checkHistogramHeader(s string) error {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	if len(raw) < 8 {
		return errors.New("too short")
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8:]))
	if err != nil {
		return err
	}
	defer z.Close()
	var hdr [40]byte
	if _, err := io.ReadFull(z, hdr[:]); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	digits := int32(binary.BigEndian.Uint32(hdr[12:]))
	lowest := int64(binary.BigEndian.Uint64(hdr[16:]))
	highest := int64(binary.BigEndian.Uint64(hdr[24:]))
	if digits != HistDigits || lowest != HistLowest || highest != HistHighest {
		return fmt.Errorf("range %d..%d at %d digits: iobench writes %d..%d at %d", lowest, highest, digits, HistLowest, int64(HistHighest), HistDigits)
	}
	return nil
}

// Latency decodes the run's main latency histogram.
func (r *Run) Latency() (*hdrhistogram.Histogram, error) {
	return DecodeHistogram(r.Histograms.Latency)
}

// WriteHgrm writes h's percentile distribution in the text format of
// HdrHistogram's plotter (values in microseconds).
// Values are in microseconds (the histogram's nanoseconds over 1000), and
// a last comment line says so: HdrHistogram's plotter labels its axis in
// milliseconds unless told the ratio.
func WriteHgrm(w io.Writer, h *hdrhistogram.Histogram) error {
	if _, err := h.PercentilesPrint(w, 5, 1000); err != nil {
		return err
	}
	_, err := io.WriteString(w, "#[Values in microseconds: in HdrHistogram's plotter read its \"ms\" as µs, or scale by 1000]\n")
	return err
}
