package results

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// Limits of a document iobench reads, far above what it writes (a
// 1,000-cell suite holds ~5 MB of strings and ~10,000 array elements; a
// run of 20,000 connections, 20,000 connection_replies). checkShape
// refuses a document past any of them before a byte of it is decoded, so
// what decoding allocates is bounded whatever the file holds.
const (
	// MaxCells is the most cells a suite may hold.
	MaxCells = 5000
	// MaxArray is the most elements of one array (connection_replies:
	// one per connection).
	MaxArray = 1 << 20
	// MaxElements is the most array elements of a document together.
	MaxElements = 4 << 20
	// MaxStrings is the most bytes of a document's strings together
	// (histograms are most of them).
	MaxStrings = 64 << 20
	// maxDepth, maxNumber and maxSpace bound nesting, one number's
	// literal and a run of whitespace (iobench indents by two spaces).
	maxDepth  = 32
	maxNumber = 40
	maxSpace  = 4096
)

// arrayCaps are arrays with a smaller cap than MaxArray.
var arrayCaps = map[reflect.Type]int{reflect.TypeFor[[]Cell](): MaxCells}

// checkShape walks data once, allocating nothing per byte, and refuses
// what iobench never writes for a value of type t: a key t has no field
// for (spelled exactly as iobench writes it), and anything past the
// limits above. What passes is valid JSON that json.Unmarshal decodes
// within a bound proportional to MaxStrings and MaxElements.
func checkShape(data []byte, t reflect.Type) error {
	s := &shape{data: data}
	s.space()
	if err := s.value(t, "", 0); err != nil {
		return err
	}
	s.space()
	if s.err == nil && s.i < len(s.data) {
		return s.fail("bytes after the document")
	}
	return s.err
}

type shape struct {
	data           []byte
	i              int
	strings, elems int // counted so far, against MaxStrings and MaxElements
	err            error
}

func (s *shape) fail(format string, args ...any) error {
	if s.err == nil {
		s.err = fmt.Errorf("at byte %d: %s", s.i, fmt.Sprintf(format, args...))
	}
	return s.err
}

func (s *shape) space() {
	start := s.i
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
			continue
		}
		break
	}
	if s.i-start > maxSpace {
		s.fail("%d bytes of whitespace in a row", s.i-start)
	}
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// free says whether values of t are decoded by t's own code (or are
// any value): their content is checked for limits, not keys.
func free(t reflect.Type) bool {
	if t == nil || t.Kind() == reflect.Interface {
		return true
	}
	p := reflect.PointerTo(t)
	return p.Implements(unmarshalerType) || p.Implements(textUnmarshalerType)
}

// value checks one JSON value expected to decode into t (nil: any).
func (s *shape) value(t reflect.Type, path string, depth int) error {
	if s.err != nil {
		return s.err
	}
	if depth > maxDepth {
		return s.fail("nested deeper than %d", maxDepth)
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if free(t) {
		t = nil
	}
	if s.i >= len(s.data) {
		return s.fail("the document ends early")
	}
	switch c := s.data[s.i]; {
	case c == '{':
		return s.object(t, path, depth)
	case c == '[':
		return s.array(t, path, depth)
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		for s.i < len(s.data) && strings.IndexByte("+-.eE0123456789", s.data[s.i]) >= 0 {
			s.i++
		}
		if s.i-start > maxNumber {
			return s.fail("a number of %d characters", s.i-start)
		}
		return nil
	default:
		for _, lit := range [][]byte{[]byte("true"), []byte("false"), []byte("null")} {
			if bytes.HasPrefix(s.data[s.i:], lit) {
				s.i += len(lit)
				return nil
			}
		}
		return s.fail("not JSON")
	}
}

// str skips one string and returns its raw bytes (without quotes).
func (s *shape) str() ([]byte, error) {
	start := s.i + 1
	for s.i = start; s.i < len(s.data); s.i++ {
		switch s.data[s.i] {
		case '\\':
			s.i++
		case '"':
			raw := s.data[start:s.i]
			s.i++
			if s.strings += len(raw); s.strings > MaxStrings {
				return nil, s.fail("more than %d MiB of strings", MaxStrings>>20)
			}
			return raw, nil
		}
	}
	return nil, s.fail("a string does not end")
}

func (s *shape) object(t reflect.Type, path string, depth int) error {
	var fields map[string]reflect.Type
	var elem reflect.Type // a map's values
	switch {
	case t == nil:
	case t.Kind() == reflect.Struct:
		fields = jsonFields(t)
	case t.Kind() == reflect.Map:
		elem = t.Elem()
	default:
		return s.fail("%s: an object where iobench writes %s", where(path), t)
	}
	s.i++ // {
	s.space()
	if s.i < len(s.data) && s.data[s.i] == '}' {
		s.i++
		return nil
	}
	for s.err == nil {
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			return s.fail("%s: a key was expected", where(path))
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		vt, sub := elem, path+"."+string(key)
		if fields != nil {
			var ok bool
			if vt, ok = fields[string(key)]; !ok {
				return s.fail("%s: unknown field %q", where(path), key)
			}
		}
		s.space()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return s.fail("%s: ':' was expected", where(sub))
		}
		s.i++
		s.space()
		if err := s.value(vt, sub, depth+1); err != nil {
			return err
		}
		if more, err := s.next('}', path); !more {
			return err
		}
	}
	return s.err
}

// next reads what follows a member or an element: a comma (more to
// come) or the closing bracket.
func (s *shape) next(closing byte, path string) (more bool, err error) {
	s.space()
	switch {
	case s.i < len(s.data) && s.data[s.i] == ',':
		s.i++
		s.space()
		return true, nil
	case s.i < len(s.data) && s.data[s.i] == closing:
		s.i++
		return false, nil
	}
	return false, s.fail("%s: ',' or '%c' was expected", where(path), closing)
}

func (s *shape) array(t reflect.Type, path string, depth int) error {
	var elem reflect.Type
	most := MaxArray
	switch {
	case t == nil:
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		elem = t.Elem()
		if c, ok := arrayCaps[t]; ok {
			most = c
		}
	default:
		return s.fail("%s: an array where iobench writes %s", where(path), t)
	}
	s.i++ // [
	s.space()
	if s.i < len(s.data) && s.data[s.i] == ']' {
		s.i++
		return nil
	}
	for n := 1; s.err == nil; n++ {
		if n > most {
			return s.fail("%s: more than %d elements", where(path), most)
		}
		if s.elems++; s.elems > MaxElements {
			return s.fail("more than %d array elements in all", MaxElements)
		}
		if err := s.value(elem, path+"[]", depth+1); err != nil {
			return err
		}
		if more, err := s.next(']', path); !more {
			return err
		}
	}
	return s.err
}

func where(path string) string {
	if path == "" {
		return "the document"
	}
	return strings.TrimPrefix(path, ".")
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields are the keys encoding/json writes for struct type t, with
// the type each decodes into (embedded structs' fields promoted).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				continue // its fields are among VisibleFields
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := m[name]; !dup || len(f.Index) == 1 {
			m[name] = f.Type
		}
	}
	fieldCache.Store(t, m)
	return m
}
