// Package redact prints the driver's values that hold credentials
// (sessions, configurations, pools, connections, authenticators) without
// them.
//
// fmt calls no method on a value it reaches through an unexported field,
// nor on anything inside a value it prints for a wrong verb ("%!s(...)"):
// there it prints the raw fields, so an auth.Secret deep inside a Session
// would print as its plain text. Each type that holds a credential,
// directly or through its fields, therefore describes itself with a Desc
// built from an allow-list of fields that are safe to show, and prints only
// that, whatever the verb, in log/slog and in JSON. A field added later is
// not printed until it is added to the list.
//
// It imports only the standard library, so that every layer can use it.
package redact

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
)

// Desc is the printable description of a value: its type name and the
// fields that are safe to show. Field values must be safe themselves:
// strings, numbers, booleans, durations, slices of those, auth.Secret,
// another Desc, or a value whose own formatting is redacted.
type Desc struct {
	// Type is the package-qualified type name, e.g. "cluster.Config".
	Type string
	// Ref makes %#v print &Type{...}: the value is used through a pointer.
	Ref bool
	// Nil describes a nil pointer: "<nil>", and (*Type)(nil) with %#v.
	Nil    bool
	Fields []Field
}

// Field is one shown field.
type Field struct {
	Key   string
	Value any
}

// New returns the description of a value of type typ.
func New(typ string) *Desc { return &Desc{Type: typ} }

// NewRef returns the description of a value of type typ used through a
// pointer (%#v prints &typ{...}).
func NewRef(typ string) *Desc { return &Desc{Type: typ, Ref: true} }

// Nil returns the description of a nil *typ.
func Nil(typ string) *Desc { return &Desc{Type: typ, Ref: true, Nil: true} }

// Add appends a field unless v is the zero value of its type (or nil), so
// that a description shows what was set.
func (d *Desc) Add(key string, v any) *Desc {
	if v == nil {
		return d
	}
	if rv := reflect.ValueOf(v); rv.IsZero() || (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map) && rv.Len() == 0 {
		return d
	}
	return d.Always(key, v)
}

// Always appends a field, zero or not.
func (d *Desc) Always(key string, v any) *Desc {
	d.Fields = append(d.Fields, Field{key, v})
	return d
}

// IsSet appends key with the value "set" when set is true: for functions,
// loggers and other values whose contents are not shown.
func (d *Desc) IsSet(key string, set bool) *Desc {
	if set {
		d.Always(key, "set")
	}
	return d
}

// TypeOf appends key with the dynamic type of v, when v is not nil: for
// interfaces the caller implements, whose contents the driver cannot vouch
// for.
func (d *Desc) TypeOf(key string, v any) *Desc {
	if v != nil {
		d.Always(key, fmt.Sprintf("%T", v))
	}
	return d
}

// String is Type{Key:value Key:value}, the values formatted with %v.
func (d *Desc) String() string {
	if d.Nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString(d.Type)
	b.WriteByte('{')
	for i, f := range d.Fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%v", f.Key, f.Value)
	}
	b.WriteByte('}')
	return b.String()
}

// GoString is Type{Key:value, Key:value}, the values formatted with %#v
// (&Type{...} when Ref is set).
func (d *Desc) GoString() string {
	if d.Nil {
		return "(*" + d.Type + ")(nil)"
	}
	var b strings.Builder
	if d.Ref {
		b.WriteByte('&')
	}
	b.WriteString(d.Type)
	b.WriteByte('{')
	for i, f := range d.Fields {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s:%#v", f.Key, f.Value)
	}
	b.WriteByte('}')
	return b.String()
}

// Format writes String, or GoString for %#v; see Format.
func (d *Desc) Format(f fmt.State, verb rune) { Format(f, verb, d.String(), d.GoString()) }

// LogValue is a group of the fields (nested descriptions are nested
// groups), or the String form when there are none (slog drops empty
// groups).
func (d *Desc) LogValue() slog.Value {
	if d.Nil || len(d.Fields) == 0 {
		return slog.StringValue(d.String())
	}
	attrs := make([]slog.Attr, len(d.Fields))
	for i, f := range d.Fields {
		attrs[i] = slog.Any(f.Key, f.Value)
	}
	return slog.GroupValue(attrs...)
}

// Format writes str for every verb, with the verb's width and flags for
// %v, %s and %q (quoted), and goStr for %#v. Verbs that make no sense for
// the value (%d, %x, unknown ones) print str as it is: they never reach the
// value's fields, where fmt would print a credential raw.
func Format(f fmt.State, verb rune, str, goStr string) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			io.WriteString(f, goStr)
			return
		}
		fmt.Fprintf(f, fmt.FormatString(f, 's'), str)
	case 's', 'q':
		fmt.Fprintf(f, fmt.FormatString(f, verb), str)
	default:
		io.WriteString(f, str)
	}
}

// TLS describes a tls.Config by its safe settings: server name, versions,
// whether verification is skipped, and how many client certificates it
// holds (never their keys).
func TLS(c *tls.Config) *Desc {
	if c == nil {
		return Nil("tls.Config")
	}
	d := NewRef("tls.Config").Add("ServerName", c.ServerName)
	if c.MinVersion != 0 {
		d.Always("MinVersion", tls.VersionName(c.MinVersion))
	}
	if c.MaxVersion != 0 {
		d.Always("MaxVersion", tls.VersionName(c.MaxVersion))
	}
	return d.Add("Certificates", len(c.Certificates)).
		IsSet("GetClientCertificate", c.GetClientCertificate != nil).
		IsSet("RootCAs", c.RootCAs != nil).
		Add("InsecureSkipVerify", c.InsecureSkipVerify)
}
