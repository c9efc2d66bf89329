package results

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Warning is one reason a run's numbers may not mean what they seem
// (Run.Warnings, Cell.Warnings) or why a run failed (Run.Failures): a
// short code that reports group and count by, the figure it is about
// when there is one (Jain's index for "unfair", the generator's
// utilisation for "generator-bound"), and the sentence a person reads.
// Code is never parsed out of Text.
type Warning struct {
	Code   string   `json:"code"`
	Text   string   `json:"text"`
	Figure *float64 `json:"figure,omitempty"`
}

// The codes a report and a script can rely on. New ones may appear;
// an unknown code is shown as it is.
const (
	CodeLostConns       = "lost connections"
	CodeIdleClosed      = "idle closed"
	CodeMissedRate      = "missed rate"
	CodeUnfair          = "unfair"
	CodeGeneratorBound  = "generator-bound"
	CodeInterrupted     = "interrupted"
	CodeEmulated        = "emulated"
	CodeLateStart       = "late start"
	CodeStartSkew       = "start skew"
	CodeCorrupted       = "corrupted"
	CodeServerClosed    = "server closed conns"
	CodeStalled         = "stalled"
	CodeNoReplies       = "no replies"
	CodeNoKernelCounts  = "no kernel counts"
	CodeServerDied      = "server died"
	CodeServerUnclean   = "server unclean exit"
	CodeUnmeasured      = "unmeasured server"
	CodeLease           = "lease"
	CodeLegacyUnlabeled = "warning" // a schema-1 line without a label
)

// shortCodes are the codes as a compact table writes them.
var shortCodes = map[string]string{
	CodeGeneratorBound: "gen", CodeMissedRate: "rate", CodeLostConns: "lost", CodeIdleClosed: "idle",
	CodeInterrupted: "intr", CodeEmulated: "emu", CodeServerUnclean: "exit", CodeServerDied: "died",
	CodeNoKernelCounts: "nocount", CodeStalled: "stall",
}

// ShortCode is code as a compact table writes it (itself when it has no
// short form).
func ShortCode(code string) string {
	if s, ok := shortCodes[code]; ok {
		return s
	}
	return code
}

// Warn is a Warning of code with its text formatted.
func Warn(code, format string, args ...any) Warning {
	return Warning{Code: code, Text: fmt.Sprintf(format, args...)}
}

// WithFigure is w about the figure v.
func (w Warning) WithFigure(v float64) Warning {
	w.Figure = &v
	return w
}

// String is the warning as one line: "code: text".
func (w Warning) String() string { return w.Code + ": " + w.Text }

// Lines is each warning as one line.
func Lines(ws []Warning) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.String()
	}
	return out
}

// UnmarshalJSON reads a warning as written (an object), or as schema 1
// wrote it: one "label: detail" line, whose label is taken as the code.
func (w *Warning) UnmarshalJSON(b []byte) error {
	var line string
	if err := json.Unmarshal(b, &line); err == nil {
		code := legacyLabel(line)
		*w = Warning{Code: code, Text: strings.TrimPrefix(line, code+": ")}
		return nil
	}
	type plain Warning
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if p.Code == "" {
		return fmt.Errorf("a warning without a code: %s", b)
	}
	*w = Warning(p)
	return nil
}

// legacyLabel is the label a schema-1 warning or failure line starts
// with ("generator-bound" of "generator-bound: the load generator used
// ..."); lines from before labels are matched by their opening words.
// Only files of schema 1 need it.
func legacyLabel(w string) string {
	label, _, ok := strings.Cut(w, ": ")
	if ok && label != "" && len(label) <= 24 && !strings.ContainsAny(label, ",.()%") {
		return label
	}
	for prefix, label := range map[string]string{
		"the load generator used": CodeGeneratorBound, "the server closed": CodeServerClosed,
		"achieved ": CodeMissedRate, "only ": CodeLostConns, "emulated": CodeEmulated,
	} {
		if strings.HasPrefix(w, prefix) {
			return label
		}
	}
	if strings.Contains(w, "replies did not match") {
		return CodeCorrupted
	}
	return CodeLegacyUnlabeled
}
