package client

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/protocol"
)

const protocolDoc = "../docs/protocol.md"

// TestProtocolDocNamesEveryTypeAndField checks that docs/protocol.md names
// every message type constant and every JSON field of every payload, so
// that a field added to package protocol cannot go undocumented.
func TestProtocolDocNamesEveryTypeAndField(t *testing.T) {
	t.Parallel()
	doc := readDoc(t)

	types := messageTypes(t)
	require.NotEmpty(t, types)
	for name, value := range types {
		require.True(t, strings.Contains(doc, "`"+value+"`"), "message type %s (%q) is not documented", name, value)
	}

	fields := map[string]bool{}
	jsonFields(reflect.TypeFor[protocol.Message](), fields, map[reflect.Type]bool{})
	require.Contains(t, fields, "exec_id", "the walk reaches the payloads")
	require.Contains(t, fields, "parameter", "the walk reaches nested types")
	for f := range fields {
		require.True(t, strings.Contains(doc, "`"+f+"`"), "JSON field %q is not documented", f)
	}
}

// TestProtocolDocExamplesParse checks that every JSON example is a valid
// message: known fields only, the payload its type names, and one example
// of every type.
func TestProtocolDocExamplesParse(t *testing.T) {
	t.Parallel()
	doc := readDoc(t)

	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(doc, -1)
	require.NotEmpty(t, blocks)
	seen := map[string]bool{}
	for _, b := range blocks {
		dec := json.NewDecoder(strings.NewReader(b[1]))
		dec.DisallowUnknownFields()
		var m protocol.Message
		require.NoError(t, dec.Decode(&m), "example:\n%s", b[1])
		require.False(t, dec.More(), "one message per example:\n%s", b[1])
		require.True(t, payloadSet(m), "the payload named by type %q is missing:\n%s", m.Type, b[1])
		seen[m.Type] = true
	}
	for _, value := range messageTypes(t) {
		require.True(t, seen[value], "no example of message type %q", value)
	}
}

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(protocolDoc)
	require.NoError(t, err)
	return string(b)
}

// messageTypes returns the Type* string constants of package protocol,
// read from its source so that a new one is found without a list here.
func messageTypes(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../protocol/*.go")
	require.NoError(t, err)
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !strings.HasPrefix(id.Name, "Type") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, err := strconv.Unquote(lit.Value)
					require.NoError(t, err)
					out[id.Name] = v
				}
			}
		}
	}
	return out
}

// jsonFields collects the JSON names of t's fields, and of the structs
// it holds, except time.Time.
func jsonFields(t reflect.Type, out map[string]bool, visited map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() || visited[t] {
		return
	}
	visited[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = true
		jsonFields(f.Type, out, visited)
	}
}

// payloadSet reports whether the payload field named by m.Type is set.
func payloadSet(m protocol.Message) bool {
	v := reflect.ValueOf(m)
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		if name == m.Type {
			return !v.Field(i).IsNil()
		}
	}
	return false
}

// TestProtocolDocExampleRoundTrips checks that an example re-encodes
// without losing fields (the doc shows what the Go types write).
func TestProtocolDocExampleRoundTrips(t *testing.T) {
	t.Parallel()
	in := `{"type":"ack","ack":{"exec_id":"e-43","attempt":1,"accepted":false,"reason":"capacity"}}`
	var m protocol.Message
	require.NoError(t, json.Unmarshal([]byte(in), &m))
	out, err := json.Marshal(m)
	require.NoError(t, err)
	require.JSONEq(t, in, string(bytes.TrimSpace(out)))
}
