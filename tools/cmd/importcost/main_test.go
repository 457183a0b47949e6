package main

import (
	"slices"
	"testing"
)

// linkedModules reads the dep lines of `go version -m`, with or without
// sums, and skips the path, mod, build and replacement (=>) lines.
func TestLinkedModules(t *testing.T) {
	info := "/tmp/bin/cqlwire: go1.26.8\n" +
		"\tpath\tgithub.com/cqlwire/cqlwire/tools/cmd/importcost/cqlwire\n" +
		"\tmod\tgithub.com/cqlwire/cqlwire/tools\t(devel)\t\n" +
		"\tdep\tgithub.com/pierrec/lz4/v4\tv4.1.33\th1:GjG1TJ1V4IzKP8L96muuuDNpTwd7D+l2ccXrjAbe014=\n" +
		"\tdep\tgithub.com/cqlwire/cqlwire\tv0.0.0\n" +
		"\t=>\t../\t\t\n" +
		"\tbuild\t-ldflags=\"-s -w\"\n"
	got := linkedModules([]byte(info))
	want := []string{"github.com/cqlwire/cqlwire v0.0.0", "github.com/pierrec/lz4/v4 v4.1.33"}
	if !slices.Equal(got, want) {
		t.Errorf("linkedModules = %q, want %q", got, want)
	}
	if s := shortNames(got); s != "cqlwire/cqlwire, pierrec/lz4/v4" {
		t.Errorf("shortNames = %q", s)
	}
}
