package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Link types (LINKTYPE_* values) this package decodes.
const (
	LinkNull     = 0
	LinkEthernet = 1
	LinkRaw      = 101
	LinkLinuxSLL = 113
	LinkLoop     = 108
	LinkIPv4     = 228
	LinkIPv6     = 229
	LinkSLL2     = 276
)

// Packet is one captured link-layer frame.
type Packet struct {
	Time     time.Time
	LinkType uint32
	Data     []byte
}

// maxPacket bounds a single captured packet; loopback MTU is 64 KiB, and
// a larger record means a corrupt file.
const maxPacket = 1 << 20

// ReadAll reads every packet of a pcap or pcapng capture.
func ReadAll(r io.Reader) ([]Packet, error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, fmt.Errorf("pcap: reading magic: %w", err)
	}
	switch binary.LittleEndian.Uint32(magic[:]) {
	case 0x0A0D0D0A:
		return readPcapNG(r, magic)
	case 0xA1B2C3D4, 0xD4C3B2A1, 0xA1B23C4D, 0x4D3CB2A1:
		return readPcap(r, magic)
	}
	return nil, fmt.Errorf("pcap: unknown file magic %x", magic)
}

func readPcap(r io.Reader, magic [4]byte) ([]Packet, error) {
	var order binary.ByteOrder = binary.LittleEndian
	m := binary.LittleEndian.Uint32(magic[:])
	if m == 0xD4C3B2A1 || m == 0x4D3CB2A1 {
		order = binary.BigEndian
		m = binary.BigEndian.Uint32(magic[:])
	}
	nano := m == 0xA1B23C4D
	var hdr [20]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("pcap: reading file header: %w", err)
	}
	link := order.Uint32(hdr[16:]) & 0x0FFFFFFF
	var out []Packet
	var rec [16]byte
	for {
		if _, err := io.ReadFull(r, rec[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("pcap: record %d header: %w", len(out), err)
		}
		sec, frac := order.Uint32(rec[0:]), order.Uint32(rec[4:])
		n := order.Uint32(rec[8:])
		if n > maxPacket {
			return out, fmt.Errorf("pcap: record %d claims %d bytes", len(out), n)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			return out, fmt.Errorf("pcap: record %d data: %w", len(out), err)
		}
		ns := int64(frac) * 1000
		if nano {
			ns = int64(frac)
		}
		out = append(out, Packet{Time: time.Unix(int64(sec), ns).UTC(), LinkType: link, Data: data})
	}
}

func readPcapNG(r io.Reader, magic [4]byte) ([]Packet, error) {
	type iface struct {
		link    uint32
		tsScale int64 // nanoseconds per timestamp unit
	}
	var order binary.ByteOrder = binary.LittleEndian
	var ifaces []iface
	var out []Packet
	first := true
	for {
		var bh [8]byte
		if first {
			copy(bh[:4], magic[:])
			if _, err := io.ReadFull(r, bh[4:]); err != nil {
				return nil, fmt.Errorf("pcapng: section header: %w", err)
			}
		} else if _, err := io.ReadFull(r, bh[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("pcapng: block header: %w", err)
		}
		btype := order.Uint32(bh[0:])
		if btype == 0x0A0D0D0A {
			// The byte-order magic follows the length; read it to learn the order.
			var bom [4]byte
			if _, err := io.ReadFull(r, bom[:]); err != nil {
				return out, fmt.Errorf("pcapng: byte-order magic: %w", err)
			}
			if binary.LittleEndian.Uint32(bom[:]) == 0x1A2B3C4D {
				order = binary.LittleEndian
			} else {
				order = binary.BigEndian
			}
			blen := order.Uint32(bh[4:])
			if blen < 16 || blen > maxPacket || blen%4 != 0 {
				return out, fmt.Errorf("pcapng: bad section header length %d", blen)
			}
			if _, err := io.CopyN(io.Discard, r, int64(blen)-12); err != nil {
				return out, fmt.Errorf("pcapng: section header: %w", err)
			}
			ifaces = ifaces[:0]
			first = false
			continue
		}
		blen := order.Uint32(bh[4:])
		if blen < 12 || blen > maxPacket || blen%4 != 0 {
			return out, fmt.Errorf("pcapng: block of type %#x has bad length %d", btype, blen)
		}
		body := make([]byte, blen-8)
		if _, err := io.ReadFull(r, body); err != nil {
			return out, fmt.Errorf("pcapng: block body: %w", err)
		}
		body = body[:len(body)-4] // trailing copy of the length
		switch btype {
		case 1: // interface description
			if len(body) < 8 {
				return out, fmt.Errorf("pcapng: short interface block")
			}
			ifc := iface{link: uint32(order.Uint16(body[0:])), tsScale: 1000}
			ifc.tsScale = tsResolution(body[8:], order, ifc.tsScale)
			ifaces = append(ifaces, ifc)
		case 6: // enhanced packet
			if len(body) < 20 {
				return out, fmt.Errorf("pcapng: short packet block")
			}
			id := order.Uint32(body[0:])
			if int(id) >= len(ifaces) {
				return out, fmt.Errorf("pcapng: packet on unknown interface %d", id)
			}
			ts := int64(order.Uint32(body[4:]))<<32 | int64(order.Uint32(body[8:]))
			n := order.Uint32(body[12:])
			if int(n) > len(body)-20 {
				return out, fmt.Errorf("pcapng: packet length %d beyond its block", n)
			}
			ns := ts * ifaces[id].tsScale
			out = append(out, Packet{Time: time.Unix(0, ns).UTC(), LinkType: ifaces[id].link, Data: body[20 : 20+n]})
		}
	}
}

// tsResolution reads the if_tsresol option (code 9) of an interface block.
func tsResolution(opts []byte, order binary.ByteOrder, def int64) int64 {
	for len(opts) >= 4 {
		code, n := order.Uint16(opts[0:]), int(order.Uint16(opts[2:]))
		if code == 0 || 4+n > len(opts) {
			break
		}
		if code == 9 && n >= 1 {
			v := opts[4]
			if v&0x80 == 0 && v <= 9 {
				scale := int64(1)
				for range 9 - int(v) {
					scale *= 10
				}
				return scale
			}
		}
		opts = opts[4+(n+3)&^3:]
	}
	return def
}
