package segment

import "hash/crc32"

// CRC24 parameters of the segment header, as the Cassandra server computes
// it: most significant bit first, no reflection, no final xor.
const (
	crc24Init = 0x875060
	crc24Poly = 0x1974F0B // includes the x^24 term
)

// crc24Table holds, for each byte value, its contribution once shifted
// through the register, so that crc24 handles a byte per step.
var crc24Table = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 16
		for range 8 {
			c <<= 1
			if c&(1<<24) != 0 {
				c ^= crc24Poly
			}
		}
		t[i] = c
	}
	return t
}()

// crc24 returns the CRC24 of b, the 3- or 5-byte header word in wire
// (little-endian) order.
func crc24(b []byte) uint32 {
	c := uint32(crc24Init)
	for _, x := range b {
		c = (c<<8)&0xFFFFFF ^ crc24Table[byte(c>>16)^x]
	}
	return c
}

// crc32Seed is the IEEE CRC32 state after the bytes FA 2D 55 CA, which the
// server feeds before every payload (the spec does not mention them).
const crc32Seed = 0x44777ED3

// payloadCRC returns the CRC32 of a segment payload as the server computes
// it. hash/crc32 uses hardware acceleration for the IEEE table.
func payloadCRC(p []byte) uint32 {
	return crc32.Update(crc32Seed, crc32.IEEETable, p)
}
