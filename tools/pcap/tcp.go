package pcap

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
)

// Endpoint is one side of a TCP connection.
type Endpoint = netip.AddrPort

// Conn is one reassembled TCP connection: the client is the side that sent
// the first SYN (or, without a SYN in the capture, the first packet's sender).
type Conn struct {
	Client, Server Endpoint
	// ToServer and ToClient are the byte streams in each direction, in
	// sequence order, with retransmitted bytes kept once.
	ToServer, ToClient []byte
	// Gaps counts holes in either stream (bytes lost from the capture).
	Gaps int
}

type segmentData struct {
	seq  uint32
	data []byte
}

type direction struct {
	isn    uint32
	hasISN bool
	segs   []segmentData
}

type flowKey struct{ a, b Endpoint }

// Connections decodes every packet and reassembles the TCP connections in
// capture order of their first packet. Packets that are not TCP over IP are
// skipped; malformed ones give an error naming the packet.
func Connections(pkts []Packet) ([]*Conn, error) {
	type flow struct {
		conn  *Conn
		toSrv direction
		toCli direction
	}
	flows := map[flowKey]*flow{}
	var order []*flow
	for i, p := range pkts {
		src, dst, seg, ok, err := decodeTCP(p)
		if err != nil {
			return nil, fmt.Errorf("packet %d: %w", i, err)
		}
		if !ok {
			continue
		}
		key := flowKey{src, dst}
		rev := flowKey{dst, src}
		f := flows[key]
		if f == nil {
			f = flows[rev]
		}
		if f == nil {
			client, server := src, dst
			if seg.syn && seg.ack { // SYN-ACK first: the sender is the server
				client, server = dst, src
			}
			f = &flow{conn: &Conn{Client: client, Server: server}}
			flows[flowKey{client, server}] = f
			order = append(order, f)
		}
		d := &f.toSrv
		if src == f.conn.Server {
			d = &f.toCli
		}
		if seg.syn {
			d.isn, d.hasISN = seg.seq+1, true
			continue
		}
		if len(seg.payload) > 0 {
			d.segs = append(d.segs, segmentData{seq: seg.seq, data: seg.payload})
		}
	}
	out := make([]*Conn, 0, len(order))
	for _, f := range order {
		var gaps int
		f.conn.ToServer, gaps = f.toSrv.assemble()
		f.conn.Gaps += gaps
		f.conn.ToClient, gaps = f.toCli.assemble()
		f.conn.Gaps += gaps
		out = append(out, f.conn)
	}
	return out, nil
}

// assemble orders the segments by their offset from the initial sequence
// number (wrapping arithmetic) and concatenates them, dropping bytes already
// seen (retransmissions) and counting holes.
func (d *direction) assemble() ([]byte, int) {
	if len(d.segs) == 0 {
		return nil, 0
	}
	base := d.isn
	if !d.hasISN {
		base = d.segs[0].seq
		for _, s := range d.segs {
			if int32(s.seq-base) < 0 {
				base = s.seq
			}
		}
	}
	sort.SliceStable(d.segs, func(i, j int) bool {
		return d.segs[i].seq-base < d.segs[j].seq-base
	})
	var out []byte
	gaps := 0
	for _, s := range d.segs {
		off := int64(s.seq - base)
		end := off + int64(len(s.data))
		have := int64(len(out))
		switch {
		case end <= have:
			continue // entirely retransmitted
		case off > have:
			gaps++
			continue // a hole: the stream cannot be trusted past it
		}
		out = append(out, s.data[have-off:]...)
	}
	return out, gaps
}

type tcpSegment struct {
	seq      uint32
	syn, ack bool
	payload  []byte
}

func decodeTCP(p Packet) (src, dst Endpoint, seg tcpSegment, ok bool, err error) {
	ip, ok, err := linkPayload(p)
	if err != nil || !ok {
		return src, dst, seg, false, err
	}
	if len(ip) < 1 {
		return src, dst, seg, false, fmt.Errorf("empty IP packet")
	}
	var srcIP, dstIP netip.Addr
	var tcp []byte
	switch ip[0] >> 4 {
	case 4:
		if len(ip) < 20 {
			return src, dst, seg, false, fmt.Errorf("short IPv4 header")
		}
		ihl := int(ip[0]&0x0F) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if ihl < 20 || total < ihl || total > len(ip) {
			return src, dst, seg, false, fmt.Errorf("bad IPv4 lengths (ihl %d, total %d, have %d)", ihl, total, len(ip))
		}
		if ip[9] != 6 {
			return src, dst, seg, false, nil
		}
		srcIP = netip.AddrFrom4([4]byte(ip[12:16]))
		dstIP = netip.AddrFrom4([4]byte(ip[16:20]))
		tcp = ip[ihl:total]
	case 6:
		if len(ip) < 40 {
			return src, dst, seg, false, fmt.Errorf("short IPv6 header")
		}
		plen := int(binary.BigEndian.Uint16(ip[4:]))
		if 40+plen > len(ip) {
			return src, dst, seg, false, fmt.Errorf("IPv6 payload length %d beyond packet", plen)
		}
		if ip[6] != 6 { // extension headers are not expected on loopback
			return src, dst, seg, false, nil
		}
		srcIP = netip.AddrFrom16([16]byte(ip[8:24]))
		dstIP = netip.AddrFrom16([16]byte(ip[24:40]))
		tcp = ip[40 : 40+plen]
	default:
		return src, dst, seg, false, nil
	}
	if len(tcp) < 20 {
		return src, dst, seg, false, fmt.Errorf("short TCP header")
	}
	doff := int(tcp[12]>>4) * 4
	if doff < 20 || doff > len(tcp) {
		return src, dst, seg, false, fmt.Errorf("bad TCP data offset %d", doff)
	}
	src = netip.AddrPortFrom(srcIP, binary.BigEndian.Uint16(tcp[0:]))
	dst = netip.AddrPortFrom(dstIP, binary.BigEndian.Uint16(tcp[2:]))
	flags := tcp[13]
	seg = tcpSegment{
		seq:     binary.BigEndian.Uint32(tcp[4:]),
		syn:     flags&0x02 != 0,
		ack:     flags&0x10 != 0,
		payload: tcp[doff:],
	}
	return src, dst, seg, true, nil
}

// linkPayload strips the link-layer header; ok is false for non-IP frames.
func linkPayload(p Packet) ([]byte, bool, error) {
	d := p.Data
	switch p.LinkType {
	case LinkEthernet:
		if len(d) < 14 {
			return nil, false, fmt.Errorf("short Ethernet header")
		}
		et := binary.BigEndian.Uint16(d[12:])
		d = d[14:]
		if et == 0x8100 { // one VLAN tag
			if len(d) < 4 {
				return nil, false, fmt.Errorf("short VLAN tag")
			}
			et = binary.BigEndian.Uint16(d[2:])
			d = d[4:]
		}
		return d, et == 0x0800 || et == 0x86DD, nil
	case LinkNull, LinkLoop:
		if len(d) < 4 {
			return nil, false, fmt.Errorf("short loopback header")
		}
		return d[4:], true, nil
	case LinkRaw, LinkIPv4, LinkIPv6:
		return d, true, nil
	case LinkLinuxSLL:
		if len(d) < 16 {
			return nil, false, fmt.Errorf("short SLL header")
		}
		et := binary.BigEndian.Uint16(d[14:])
		return d[16:], et == 0x0800 || et == 0x86DD, nil
	case LinkSLL2:
		if len(d) < 20 {
			return nil, false, fmt.Errorf("short SLL2 header")
		}
		et := binary.BigEndian.Uint16(d[0:])
		return d[20:], et == 0x0800 || et == 0x86DD, nil
	}
	return nil, false, fmt.Errorf("unsupported link type %d", p.LinkType)
}
