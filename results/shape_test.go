package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestShapeLimits: a document past any limit of what iobench reads is
// refused by the shape check, before it is decoded; one within them is
// decoded as before. (How fast and in how much memory is measured with
// the binary on crafted files, docs/methodology.md: not a timed test.)
func TestShapeLimits(t *testing.T) {
	run := func(extra string) []byte { return []byte(`{"schema":2,"replies":0` + extra + `}`) }
	manyCells := `{"schema":2,"kind":"suite","cells":[` + strings.Repeat(`{},`, MaxCells) + `{}]}`
	for name, tc := range map[string]struct {
		doc  []byte
		want string
	}{
		"connection_replies past MaxArray": {run(`,"connection_replies":[` + strings.Repeat("0,", MaxArray) + `0]`), "connection_replies: more than"},
		"strings past MaxStrings":          {run(`,"warnings":[{"code":"x","text":"` + strings.Repeat("a", MaxStrings) + `"}]`), "MiB of strings"},
		"nested too deep":                  {run(`,"error_kinds":` + strings.Repeat("[", 100) + strings.Repeat("]", 100)), "an array where"},
		"a number 1000 digits long":        {run(`,"errors":` + strings.Repeat("9", 1000)), "a number of 1000"},
		"whitespace runs":                  {run(`,"errors":` + strings.Repeat(" ", 1<<20) + `1`), "whitespace"},
		"an unknown field":                 {run(`,"surprise":1`), `unknown field "surprise"`},
		"an unknown field deep":            {run(`,"connections":{"requested":1,"who":2}`), `connections: unknown field "who"`},
		"a key spelled otherwise":          {run(`,"Replies":1`), `unknown field "Replies"`},
		"cells past MaxCells":              {[]byte(manyCells), "cells: more than 5000"},
		"trailing bytes":                   {[]byte(`{"schema":2} {}`), "after top-level value"},
	} {
		var err error
		if bytes.Contains(tc.doc, []byte(`"kind":"suite"`)) {
			_, err = DecodeSuite(tc.doc)
		} else {
			_, err = DecodeRun(tc.doc)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error containing %q", name, err, tc.want)
		}
	}
	var deep any = 1
	for range maxDepth + 2 {
		deep = map[string]any{"a": deep}
	}
	b, _ := json.Marshal(map[string]any{"schema": 2, "error_kinds": deep})
	if err := checkShape(b, nil); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("nested %d deep: %v", maxDepth+2, err)
	}
	// Within the limits: the crafted-looking but legal is accepted.
	ok := run(fmt.Sprintf(`,"connections":{"requested":3,"established":3},"connection_replies":[0,0,0], "warnings":[{"code":"x","text":"%s"}]`, strings.Repeat("é", 1000)))
	if _, err := DecodeRun(ok); err != nil {
		t.Errorf("a legal run refused: %v", err)
	}
}
