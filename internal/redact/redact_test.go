package redact

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

type described struct{ d *Desc }

func (v described) Format(f fmt.State, verb rune) { v.d.Format(f, verb) }

func TestDescFormat(t *testing.T) {
	inner := New("pkg.Inner").Add("Name", "n")
	d := NewRef("pkg.T").Add("Addr", "h:1").Add("Empty", "").Add("Zero", 0).Add("None", []string{}).
		Add("List", []string{"a", "b"}).Add("Wait", time.Second).IsSet("Logger", true).IsSet("Dial", false).
		TypeOf("Policy", &bytes.Buffer{}).TypeOf("Nil", nil).Always("Inner", inner)
	v := described{d}
	const str = "pkg.T{Addr:h:1 List:[a b] Wait:1s Logger:set Policy:*bytes.Buffer Inner:pkg.Inner{Name:n}}"
	for verb, want := range map[string]string{
		"%v":   str,
		"%+v":  str,
		"%s":   str,
		"%d":   str,
		"%x":   str,
		"%z":   str,
		"%q":   fmt.Sprintf("%q", str),
		"%.5s": "pkg.T",
		"%#v":  `&pkg.T{Addr:"h:1", List:[]string{"a", "b"}, Wait:1000000000, Logger:"set", Policy:"*bytes.Buffer", Inner:pkg.Inner{Name:"n"}}`,
	} {
		if got := fmt.Sprintf(verb, v); got != want {
			t.Errorf("%s:\n got %s\nwant %s", verb, got, want)
		}
	}
	if got := fmt.Sprintf("[%8v]", described{New("a.B")}); got != "[   a.B{}]" {
		t.Errorf("width: %s", got)
	}
	n := Nil("pkg.T")
	if n.String() != "<nil>" || n.GoString() != "(*pkg.T)(nil)" {
		t.Errorf("nil: %s %s", n.String(), n.GoString())
	}

	var b bytes.Buffer
	log := slog.New(slog.NewTextHandler(&b, nil))
	log.Info("m", "v", d, "empty", New("a.B"))
	if got := b.String(); !strings.Contains(got, "v.Addr=h:1 v.List=\"[a b]\"") || !strings.Contains(got, "v.Inner.Name=n") || !strings.Contains(got, "empty=a.B{}") {
		t.Errorf("slog: %s", got)
	}
}

func TestTLSNil(t *testing.T) {
	if s := TLS(nil).String(); s != "<nil>" {
		t.Errorf("TLS(nil) = %s", s)
	}
}
