package pcap

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

// ethTCP builds an Ethernet/IPv4/TCP frame the way a loopback capture holds it.
func ethTCP(src, dst netip.AddrPort, seq uint32, flags byte, payload []byte) []byte {
	tcp := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(tcp[0:], src.Port())
	binary.BigEndian.PutUint16(tcp[2:], dst.Port())
	binary.BigEndian.PutUint32(tcp[4:], seq)
	tcp[12] = 5 << 4
	tcp[13] = flags
	tcp = append(tcp, payload...)
	ip := make([]byte, 20, 20+len(tcp))
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp)))
	ip[9] = 6
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	ip = append(ip, tcp...)
	eth := make([]byte, 14, 14+len(ip))
	binary.BigEndian.PutUint16(eth[12:], 0x0800)
	return append(eth, ip...)
}

func classicPcap(frames ...[]byte) []byte {
	var b bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xA1B2C3D4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], LinkEthernet)
	b.Write(hdr)
	for i, f := range frames {
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[0:], uint32(1000+i))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(f)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(f)))
		b.Write(rec)
		b.Write(f)
	}
	return b.Bytes()
}

func pcapng(frames ...[]byte) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		_ = binary.Write(&b, le, typ)
		_ = binary.Write(&b, le, n)
		b.Write(body)
		_ = binary.Write(&b, le, n)
	}
	shb := make([]byte, 16)
	le.PutUint32(shb[0:], 0x1A2B3C4D)
	le.PutUint16(shb[4:], 1)
	binary.LittleEndian.PutUint64(shb[8:], ^uint64(0))
	block(0x0A0D0D0A, shb)
	idb := make([]byte, 8)
	le.PutUint16(idb[0:], LinkEthernet)
	block(1, idb)
	for _, f := range frames {
		epb := make([]byte, 20, 20+len(f))
		le.PutUint32(epb[12:], uint32(len(f)))
		le.PutUint32(epb[16:], uint32(len(f)))
		block(6, append(epb, f...))
	}
	return b.Bytes()
}

func TestReassembleOutOfOrderAndRetransmitted(t *testing.T) {
	cli := netip.MustParseAddrPort("127.0.0.1:50000")
	srv := netip.MustParseAddrPort("127.0.0.1:9042")
	const syn, ack, psh = 0x02, 0x10, 0x08
	frames := [][]byte{
		ethTCP(cli, srv, 100, syn, nil),
		ethTCP(srv, cli, 900, syn|ack, nil),
		ethTCP(cli, srv, 101, ack, nil),
		ethTCP(cli, srv, 104, psh|ack, []byte("def")), // arrives before "abc"
		ethTCP(cli, srv, 101, psh|ack, []byte("abc")),
		ethTCP(cli, srv, 101, psh|ack, []byte("abcd")), // retransmission overlapping
		ethTCP(srv, cli, 901, psh|ack, []byte("reply")),
	}
	for name, file := range map[string][]byte{"pcap": classicPcap(frames...), "pcapng": pcapng(frames...)} {
		pkts, err := ReadAll(bytes.NewReader(file))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(pkts) != len(frames) {
			t.Fatalf("%s: %d packets, want %d", name, len(pkts), len(frames))
		}
		conns, err := Connections(pkts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(conns) != 1 {
			t.Fatalf("%s: %d connections, want 1", name, len(conns))
		}
		c := conns[0]
		if c.Client != cli || c.Server != srv {
			t.Errorf("%s: client %v server %v", name, c.Client, c.Server)
		}
		if string(c.ToServer) != "abcdef" || string(c.ToClient) != "reply" || c.Gaps != 0 {
			t.Errorf("%s: to server %q, to client %q, gaps %d", name, c.ToServer, c.ToClient, c.Gaps)
		}
	}
}

func TestReassembleCountsHoles(t *testing.T) {
	cli := netip.MustParseAddrPort("127.0.0.1:50000")
	srv := netip.MustParseAddrPort("127.0.0.2:9042")
	pkts, err := ReadAll(bytes.NewReader(classicPcap(
		ethTCP(cli, srv, 10, 0x02, nil),
		ethTCP(cli, srv, 11, 0x18, []byte("ab")),
		ethTCP(cli, srv, 20, 0x18, []byte("zz")), // bytes 13..19 never captured
	)))
	if err != nil {
		t.Fatal(err)
	}
	conns, err := Connections(pkts)
	if err != nil {
		t.Fatal(err)
	}
	if string(conns[0].ToServer) != "ab" || conns[0].Gaps != 1 {
		t.Errorf("got %q with %d gaps, want \"ab\" with 1", conns[0].ToServer, conns[0].Gaps)
	}
}

func TestReadAllRejectsGarbage(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":       nil,
		"bad magic":   []byte("not a capture file"),
		"short hdr":   classicPcap()[:10],
		"huge record": append(classicPcap(), 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0),
	} {
		if _, err := ReadAll(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func FuzzReadAndReassemble(f *testing.F) {
	cli := netip.MustParseAddrPort("127.0.0.1:1")
	srv := netip.MustParseAddrPort("127.0.0.1:2")
	f.Add(classicPcap(ethTCP(cli, srv, 1, 0x18, []byte("x"))))
	f.Add(pcapng(ethTCP(cli, srv, 1, 0x18, []byte("x"))))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := ReadAll(bytes.NewReader(b))
		if err != nil {
			return
		}
		_, _ = Connections(pkts)
	})
}
