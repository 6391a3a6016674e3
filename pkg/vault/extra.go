package vault

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// Extra holds the members of a JSON object that this build does not know, so
// that a rewrite by an older build of the same format version keeps what a
// newer build of that version added.
type Extra map[string]json.RawMessage

var knownFieldsCache sync.Map // reflect.Type -> map[string]bool; a cache of pure facts, safe to share

func knownFields(t reflect.Type) map[string]bool {
	if v, ok := knownFieldsCache.Load(t); ok {
		return v.(map[string]bool)
	}
	m := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || !t.Field(i).IsExported() {
			continue
		}
		if name == "" {
			name = t.Field(i).Name
		}
		m[name] = true
	}
	knownFieldsCache.Store(t, m)
	return m
}

// captureExtra returns the members of the object b that are not fields of
// the struct type t. It only pays for a second decode when b has more
// members than t has fields, or members named otherwise; a cheap count of
// top-level keys would need a tokenizer, so the decode is kept simple.
func captureExtra(b []byte, t reflect.Type) (Extra, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	known := knownFields(t)
	var extra Extra
	for k, v := range all {
		if !known[k] {
			if extra == nil {
				extra = Extra{}
			}
			extra[k] = v
		}
	}
	return extra, nil
}

// marshalWithExtra encodes v (a struct without custom marshalling) and adds
// the extra members.
func marshalWithExtra(v any, extra Extra) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k, raw := range extra {
		if _, known := all[k]; !known {
			all[k] = raw
		}
	}
	return json.Marshal(all)
}

// The record types below decode through a plain alias (no methods, so no
// recursion) and then capture what they did not know.

func (d *Document) UnmarshalJSON(b []byte) error {
	type plain Document
	if err := json.Unmarshal(b, (*plain)(d)); err != nil {
		return err
	}
	extra, err := captureExtra(b, reflect.TypeFor[plain]())
	d.Extra = extra
	return err
}

func (d *Document) MarshalJSON() ([]byte, error) {
	type plain Document
	return marshalWithExtra((*plain)(d), d.Extra)
}

func (a *Account) UnmarshalJSON(b []byte) error {
	type plain Account
	if err := json.Unmarshal(b, (*plain)(a)); err != nil {
		return err
	}
	extra, err := captureExtra(b, reflect.TypeFor[plain]())
	a.Extra = extra
	return err
}

func (a *Account) MarshalJSON() ([]byte, error) {
	type plain Account
	return marshalWithExtra((*plain)(a), a.Extra)
}

func (u *User) UnmarshalJSON(b []byte) error {
	type plain User
	if err := json.Unmarshal(b, (*plain)(u)); err != nil {
		return err
	}
	extra, err := captureExtra(b, reflect.TypeFor[plain]())
	u.Extra = extra
	return err
}

func (u *User) MarshalJSON() ([]byte, error) {
	type plain User
	return marshalWithExtra((*plain)(u), u.Extra)
}

func (r *Registry) UnmarshalJSON(b []byte) error {
	type plain Registry
	if err := json.Unmarshal(b, (*plain)(r)); err != nil {
		return err
	}
	extra, err := captureExtra(b, reflect.TypeFor[plain]())
	r.Extra = extra
	return err
}

func (r *Registry) MarshalJSON() ([]byte, error) {
	type plain Registry
	return marshalWithExtra((*plain)(r), r.Extra)
}

func (t *ECRToken) UnmarshalJSON(b []byte) error {
	type plain ECRToken
	if err := json.Unmarshal(b, (*plain)(t)); err != nil {
		return err
	}
	extra, err := captureExtra(b, reflect.TypeFor[plain]())
	t.Extra = extra
	return err
}

func (t *ECRToken) MarshalJSON() ([]byte, error) {
	type plain ECRToken
	return marshalWithExtra((*plain)(t), t.Extra)
}
