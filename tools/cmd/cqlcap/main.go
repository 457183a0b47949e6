// Command cqlcap reads packet captures of Cassandra native-protocol traffic
// (pcap or pcapng, e.g. from tcpdump -i lo -w x.pcap 'tcp port 9042') and
// checks them against cqlwire's frame codecs.
//
//	cqlcap decode FILE...           print every envelope of every connection
//	cqlcap verify FILE...           exit 1 if any envelope or segment fails to decode
//	cqlcap extract -o DIR FILE      write each envelope as a conformance case file
//
// Connections are found by TCP port (-port, default 9042).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/tools/capture"
	"github.com/cqlwire/cqlwire/tools/pcap"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `usage:
  cqlcap decode [-port N] FILE...        print every envelope of every CQL connection
  cqlcap verify [-port N] FILE...        exit 1 if any envelope or segment fails to decode
  cqlcap extract [-port N] -o DIR FILE   write each envelope as a .case conformance file`)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 9042, "the server's native-protocol TCP port")
	outDir := fs.String("o", "", "extract: directory to write case files into")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	files := fs.Args()
	if len(files) == 0 {
		usage(stderr)
		return 2
	}
	switch cmd {
	case "decode", "verify":
		bad := 0
		for _, f := range files {
			conns, err := load(f, uint16(*port))
			if err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", f, err)
				bad++
				continue
			}
			bad += report(stdout, f, conns, cmd == "decode")
		}
		if bad > 0 {
			fmt.Fprintf(stderr, "%d problem(s) found\n", bad)
			return 1
		}
		return 0
	case "extract":
		if *outDir == "" || len(files) != 1 {
			usage(stderr)
			return 2
		}
		conns, err := load(files[0], uint16(*port))
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", files[0], err)
			return 1
		}
		n, err := extract(*outDir, conns)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %d case files to %s\n", n, *outDir)
		return 0
	}
	usage(stderr)
	return 2
}

func load(path string, port uint16) ([]*capture.Conn, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pkts, err := pcap.ReadAll(f)
	if err != nil {
		return nil, err
	}
	tcp, err := pcap.Connections(pkts)
	if err != nil {
		return nil, err
	}
	var out []*capture.Conn
	for _, c := range tcp {
		if c.Server.Port() != port {
			continue
		}
		out = append(out, capture.Split(c))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no TCP connection to port %d in the capture", port)
	}
	return out, nil
}

// report prints the connections (all frames when verbose, else only
// problems) and returns the number of problems.
func report(w io.Writer, file string, conns []*capture.Conn, verbose bool) int {
	bad := 0
	for i, c := range conns {
		fmt.Fprintf(w, "%s: connection %d: %s -> %s, protocol v%d, compression %q, %d envelopes\n",
			file, i+1, c.Client, c.Server, c.Version, c.Compression, len(c.Frames))
		if c.Gaps > 0 {
			fmt.Fprintf(w, "  PROBLEM: %d hole(s) in the captured TCP stream\n", c.Gaps)
			bad++
		}
		for j, f := range c.Frames {
			if f.Err != nil {
				fmt.Fprintf(w, "  #%d %s at offset %d: PROBLEM: %v\n", j+1, f.Dir, f.Offset, f.Err)
				bad++
				continue
			}
			if verbose {
				fmt.Fprintf(w, "  #%d %s at offset %d%s\n", j+1, f.Dir, f.Offset, framing(f))
				fmt.Fprint(w, indent(frame.Describe(f.Envelope), "    "))
			}
		}
		for _, err := range c.Trailing {
			if err != nil {
				fmt.Fprintf(w, "  PROBLEM: %v\n", err)
				bad++
			}
		}
	}
	return bad
}

func framing(f capture.Frame) string {
	var parts []string
	if f.Segmented {
		if f.SegmentCompressed {
			parts = append(parts, "in LZ4 segments")
		} else {
			parts = append(parts, "in segments")
		}
	}
	if f.Compression != "" && f.Raw[1]&byte(frame.FlagCompression) != 0 {
		parts = append(parts, "body "+f.Compression)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func indent(s, pre string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(pre + l)
		}
	}
	return b.String()
}

// extract writes one .case file per decoded envelope, in the format of
// testdata/frames (bytes in hex, then the decoded description).
func extract(dir string, conns []*capture.Conn) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	n := 0
	for i, c := range conns {
		for j, f := range c.Frames {
			if f.Err != nil {
				return n, fmt.Errorf("connection %d envelope %d (%s): %w", i+1, j+1, f.Dir, f.Err)
			}
			dirName := "req"
			if f.Dir == capture.ToClient {
				dirName = "resp"
			}
			name := fmt.Sprintf("c%d-%s-%03d-%s.case", i+1, dirName, j+1, strings.ToLower(f.Envelope.Message.Opcode().String()))
			var b strings.Builder
			fmt.Fprintf(&b, "# captured: connection %d (%s -> %s), %s, envelope %d, stream offset %d%s\n",
				i+1, c.Client, c.Server, f.Dir, j+1, f.Offset, framing(f))
			if f.Compression != "" && f.Raw[1]&byte(frame.FlagCompression) != 0 {
				fmt.Fprintf(&b, "compression: %s\n", f.Compression)
			}
			b.WriteString("--- bytes\n")
			for k := 0; k < len(f.Raw); k += 32 {
				end := min(k+32, len(f.Raw))
				fmt.Fprintf(&b, "%x\n", f.Raw[k:end])
			}
			b.WriteString("--- decoded\n")
			b.WriteString(frame.Describe(f.Envelope))
			if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
