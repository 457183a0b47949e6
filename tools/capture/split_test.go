package capture

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/tools/pcap"
)

func loadPcap(t *testing.T, path string) []*pcap.Conn {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pkts, err := pcap.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	conns, err := pcap.Connections(pkts)
	if err != nil {
		t.Fatal(err)
	}
	return conns
}

// TestCommittedCaptures splits every committed capture: every byte of every
// stream must belong to an envelope that decodes, v5 connections must switch
// to segments (LZ4 ones when asked), and the envelope count must match the
// extracted case files.
func TestCommittedCaptures(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "frames", "captured")
	pcaps, err := filepath.Glob(filepath.Join(root, "*.pcap"))
	if err != nil || len(pcaps) < 5 {
		t.Fatalf("want the 5 committed captures in %s, found %d (%v)", root, len(pcaps), err)
	}
	for _, p := range pcaps {
		name := strings.TrimSuffix(filepath.Base(p), ".pcap")
		t.Run(name, func(t *testing.T) {
			total := 0
			for _, tc := range loadPcap(t, p) {
				c := Split(tc)
				if c.Gaps > 0 {
					t.Errorf("%v: %d holes in the TCP stream", c.Client, c.Gaps)
				}
				for _, err := range c.Trailing {
					if err != nil {
						t.Error(err)
					}
				}
				segmented := false
				for _, f := range c.Frames {
					if f.Err != nil {
						t.Errorf("%v %s offset %d: %v", c.Client, f.Dir, f.Offset, f.Err)
					}
					segmented = segmented || f.Segmented
					if f.Segmented && f.SegmentCompressed != (c.Compression == "lz4") {
						t.Errorf("%s: segment compression %t with STARTUP compression %q", f.Dir, f.SegmentCompressed, c.Compression)
					}
				}
				if c.Version != 0 && segmented != (c.Version >= frame.V5) {
					t.Errorf("%v: protocol v%d, segments used: %t", c.Client, c.Version, segmented)
				}
				if want := strings.Contains(name, "-v5-"); c.Version != 0 && (c.Version == frame.V5) != want {
					t.Errorf("%v: protocol v%d in capture %s", c.Client, c.Version, name)
				}
				total += len(c.Frames)
			}
			cases, _ := filepath.Glob(filepath.Join(root, name, "*.case"))
			if total != len(cases) {
				t.Errorf("%d envelopes in the capture, %d case files extracted", total, len(cases))
			}
		})
	}
}

func TestSplitReportsCorruptSegments(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "frames", "captured", "python-v5-none.pcap")
	for _, tc := range loadPcap(t, path) {
		c := Split(tc)
		if c.Version != frame.V5 || len(tc.ToClient) < 2000 {
			continue
		}
		// Flip a byte well inside the server's segments: a CRC must catch it.
		corrupt := *tc
		corrupt.ToClient = append([]byte(nil), tc.ToClient...)
		corrupt.ToClient[len(corrupt.ToClient)-10] ^= 0xFF
		got := Split(&corrupt)
		if got.Trailing[ToClient] == nil || !strings.Contains(got.Trailing[ToClient].Error(), "crc") {
			t.Fatalf("corrupt segment not reported: %v", got.Trailing[ToClient])
		}
		return
	}
	t.Fatal("no v5 connection with server traffic in the capture")
}
