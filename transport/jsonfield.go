package transport

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
)

// failingField finds which field of body made decoding into a value of
// v's type fail, by decoding each field alone: encoding/json does not name
// the field when a type's own UnmarshalJSON refuses a value (a duration,
// an interval). It returns a dotted path ("trigger.interval", "timeout"),
// or "" when no single field fails.
func failingField(body []byte, v any) string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return failingIn(body, t, 0)
}

func failingIn(body []byte, t reflect.Type, depth int) string {
	if t.Kind() != reflect.Struct || depth > 4 {
		return ""
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return ""
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		one, _ := json.Marshal(map[string]json.RawMessage{k: fields[k]})
		if json.Unmarshal(one, reflect.New(t).Interface()) == nil {
			continue
		}
		if ft, ok := fieldType(t, k); ok {
			if sub := failingIn(fields[k], ft, depth+1); sub != "" {
				return k + "." + sub
			}
		}
		return k
	}
	return ""
}

// fieldType returns the type of the struct field whose JSON name is name,
// looking into embedded structs.
func fieldType(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" {
			if ft, ok := fieldType(f.Type, name); ok {
				return ft, true
			}
			continue
		}
		if tag == name || (tag == "" && strings.EqualFold(f.Name, name)) {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			return ft, true
		}
	}
	return nil, false
}
