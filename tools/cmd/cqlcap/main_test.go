package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var captured = filepath.Join("..", "..", "..", "testdata", "frames", "captured")

func TestVerifyAndDecode(t *testing.T) {
	var out, errOut bytes.Buffer
	good := filepath.Join(captured, "python-v5-lz4.pcap")
	if rc := run([]string{"verify", good}, &out, &errOut); rc != 0 {
		t.Fatalf("verify exit %d: %s", rc, errOut.String())
	}
	out.Reset()
	if rc := run([]string{"decode", good}, &out, &errOut); rc != 0 {
		t.Fatalf("decode exit %d: %s", rc, errOut.String())
	}
	for _, want := range []string{"protocol v5", `compression "lz4"`, "in LZ4 segments", "Message: Startup", "Message: Rows"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("decode output lacks %q", want)
		}
	}
}

func TestVerifyFailsOnCorruptCapture(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(captured, "python-v4-none.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	// Cut the capture short in the middle of the traffic: the last envelopes
	// are then incomplete.
	bad := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(bad, raw[:len(raw)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if rc := run([]string{"verify", bad}, &out, &errOut); rc != 1 {
		t.Fatalf("verify of a cut capture exited %d, want 1\n%s%s", rc, out.String(), errOut.String())
	}
	if rc := run([]string{"verify", filepath.Join(t.TempDir(), "missing.pcap")}, &out, &errOut); rc != 1 {
		t.Errorf("verify of a missing file exited %d, want 1", rc)
	}
	if rc := run([]string{"nonsense"}, &out, &errOut); rc != 2 {
		t.Errorf("unknown command exited %d, want 2", rc)
	}
}

func TestExtractWritesCases(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if rc := run([]string{"extract", "-o", dir, filepath.Join(captured, "python-v4-snappy.pcap")}, &out, &errOut); rc != 0 {
		t.Fatalf("extract exit %d: %s", rc, errOut.String())
	}
	got, _ := filepath.Glob(filepath.Join(dir, "*.case"))
	want, _ := filepath.Glob(filepath.Join(captured, "python-v4-snappy", "*.case"))
	if len(got) == 0 || len(got) != len(want) {
		t.Fatalf("extracted %d cases, committed %d", len(got), len(want))
	}
	for _, w := range want {
		a, _ := os.ReadFile(w)
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(w)))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: extraction differs from the committed case (%v)", filepath.Base(w), err)
		}
	}
}
