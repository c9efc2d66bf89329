package results

import "testing"

// TestReadHead: schema and kind are found at the head (as iobench writes
// them) or anywhere at the top level (as a person might), never inside
// nested values, and a schema that is not a number is refused.
func TestReadHead(t *testing.T) {
	for _, tc := range []struct {
		doc    string
		schema int // -1: none
		kind   string
		bad    bool
	}{
		{`{"schema": 1, "kind": "suite", "cells": []}`, 1, "suite", false},
		{`{"schema": 1, "config": {"kind": "x"}, "replies": 3}`, 1, "", false},
		{`{"cells": [{"kind": "x"}], "kind": "suite", "schema": 1}`, 1, "suite", false},
		{`{"config": {}}`, -1, "", false},
		{`{"schema": "one"}`, 0, "", true},
		{`{"schema": 1.5, "kind": "suite"}`, 0, "", true},
		{`[1, 2]`, 0, "", true},
		{`{"schema": 1, "kind": "suite"`, 1, "suite", false}, // the decode that follows refuses it
	} {
		h, err := readHead([]byte(tc.doc))
		if (err != nil) != tc.bad {
			t.Errorf("%s: error %v, want error %v", tc.doc, err, tc.bad)
			continue
		}
		if tc.bad {
			continue
		}
		got := -1
		if h.Schema != nil {
			got = *h.Schema
		}
		if got != tc.schema || h.Kind != tc.kind {
			t.Errorf("%s: schema %d kind %q, want %d %q", tc.doc, got, h.Kind, tc.schema, tc.kind)
		}
	}
}
