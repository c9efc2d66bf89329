package results

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestWarningJSON: a warning is written as an object with its code and
// read back whole; a schema-1 line ("label: detail") is read into one,
// its label the code; an object without a code is refused.
func TestWarningJSON(t *testing.T) {
	w := Warn(CodeUnfair, "Jain %.2f, %d of %d busy connections got no reply", 0.42, 3, 10).WithFigure(0.42)
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"code":"unfair","text":"Jain 0.42, 3 of 10 busy connections got no reply","figure":0.42}`; string(b) != want {
		t.Errorf("written as %s, want %s", b, want)
	}
	var back Warning
	if err := json.Unmarshal(b, &back); err != nil || back.Code != w.Code || back.Text != w.Text || back.Figure == nil || *back.Figure != 0.42 {
		t.Errorf("read back %+v, %v", back, err)
	}
	for line, code := range map[string]string{
		"generator-bound: the load generator used 97% of its 2 cores": CodeGeneratorBound,
		"the load generator used 97% of its 2 cores":                  CodeGeneratorBound, // before labels
		"3 replies did not match what was sent (3 wrong bytes)":       CodeCorrupted,
		"something nobody labelled, with a comma: here":               CodeLegacyUnlabeled,
	} {
		var old Warning
		if err := json.Unmarshal([]byte(`"`+line+`"`), &old); err != nil || old.Code != code || strings.HasPrefix(old.Text, code+": ") {
			t.Errorf("schema-1 %q read as %+v, %v; want code %q", line, old, err, code)
		}
	}
	if err := json.Unmarshal([]byte(`{"text":"no code"}`), &back); err == nil {
		t.Error("a warning without a code was accepted")
	}
	if got := w.String(); got != "unfair: Jain 0.42, 3 of 10 busy connections got no reply" {
		t.Errorf("String() = %q", got)
	}
}
