package pool

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/bits"
	"testing"
)

// murmur3Vectors are partition keys (the serialized components; two
// components form a composite key) with the token that a Cassandra 5.0.9
// node's token() function returned for them. TestRealNodeMurmur3Vectors
// checks them against the node again whenever one is running.
var murmur3Vectors = []struct {
	components []string // hex
	token      int64
}{
	{[]string{"00"}, 5048724184180415669},
	{[]string{"7f"}, 5072634478945617755},
	{[]string{"80"}, -5284281814142962636},
	{[]string{"ff"}, -4442228696663692417},
	{[]string{"61"}, -8839064797231613815},
	{[]string{"68656c6c6f"}, -3758069500696749310},
	{[]string{"63716c77697265"}, 6000543686542758074},
	{[]string{"5ac3bc72696368"}, -5540362457254946660},
	{[]string{"e697a5e69cace8aa9ee381aee382ade383bc"}, -6915128621077656969},
	{[]string{"30313233343536373839616263646566"}, 5467490433528156583},
	{[]string{"3031323334353637383961626364656680"}, -8908152328711491375},
	{[]string{"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e"}, -9222542793393665168},
	{[]string{"ffff"}, 6163071069786142063},
	{[]string{"ffffff"}, -9154616442117352147},
	{[]string{"ffffffff"}, 7297452126230313552},
	{[]string{"ffffffffff"}, -8869521063059112040},
	{[]string{"ffffffffffff"}, 2112339540026359505},
	{[]string{"ffffffffffffff"}, 4860178782003914630},
	{[]string{"ffffffffffffffff"}, 7071048584287372947},
	{[]string{"ffffffffffffffffff"}, 8434364767658694854},
	{[]string{"ffffffffffffffffffff"}, -2285028417834605101},
	{[]string{"ffffffffffffffffffffff"}, 4844839740296823970},
	{[]string{"ffffffffffffffffffffffff"}, 5441275315642417349},
	{[]string{"ffffffffffffffffffffffffff"}, 5402220310222980743},
	{[]string{"ffffffffffffffffffffffffffff"}, -7003579699878715426},
	{[]string{"ffffffffffffffffffffffffffffff"}, -2195530867418009455},
	{[]string{"ffffffffffffffffffffffffffffffff"}, -2824192546314762522},
	{[]string{"ffffffffffffffffffffffffffffffffff"}, -4128212798341382003},
	{[]string{"80808080808080"}, 7590665628118325324},
	{[]string{"8080808080808080"}, -1779431913235548342},
	{[]string{"808080808080808080"}, -8549929301482172571},
	{[]string{"808080808080808080808080808080"}, -5979218241483680930},
	{[]string{"80808080808080808080808080808080"}, -3634615257541804556},
	{[]string{"7f8081feff0001c3a9"}, 3113535662462654025},
	{[]string{"", ""}, 9027482631457916009},
	{[]string{"61", "62"}, 7470152180878494447},
	{[]string{"ff", "80"}, -5052361552761351794},
	{[]string{"808080808080808080", "6b6579"}, -1344421088126241965},
	{[]string{"c3a9", "0000000000000000000000000000000000000000"}, 7207103468198800218},
}

func vectorKey(t testing.TB, components []string) (key []byte, parts [][]byte) {
	t.Helper()
	for _, c := range components {
		b, err := hex.DecodeString(c)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, b)
	}
	key, err := AppendRoutingKey(nil, parts...)
	if err != nil {
		t.Fatal(err)
	}
	return key, parts
}

func TestMurmur3KnownAnswers(t *testing.T) {
	for _, v := range murmur3Vectors {
		key, _ := vectorKey(t, v.components)
		if got := Murmur3Token(key); got != v.token {
			t.Errorf("Murmur3Token(%x) = %d, want %d", key, got, v.token)
		}
		if got, _ := Murmur3Partitioner.Token(key).Int64(); got != v.token {
			t.Errorf("Murmur3Partitioner.Token(%x) = %d, want %d", key, got, v.token)
		}
	}
}

// textbookH1 is h1 of MurmurHash3 x64_128 without Cassandra's sign
// extension, to show that the vectors exercise the difference.
func textbookH1(key []byte) uint64 {
	var h1, h2 uint64
	n := len(key)
	for len(key) >= 16 {
		k1 := binary.LittleEndian.Uint64(key)
		k2 := binary.LittleEndian.Uint64(key[8:])
		key = key[16:]
		k1 *= murmurC1
		k1 = bits.RotateLeft64(k1, 31)
		k1 *= murmurC2
		h1 ^= k1
		h1 = bits.RotateLeft64(h1, 27)
		h1 += h2
		h1 = h1*5 + 0x52dce729
		k2 *= murmurC2
		k2 = bits.RotateLeft64(k2, 33)
		k2 *= murmurC1
		h2 ^= k2
		h2 = bits.RotateLeft64(h2, 31)
		h2 += h1
		h2 = h2*5 + 0x38495ab5
	}
	var tail [16]byte
	copy(tail[:], key)
	k1 := binary.LittleEndian.Uint64(tail[:])
	k2 := binary.LittleEndian.Uint64(tail[8:])
	if len(key) > 8 {
		k2 *= murmurC2
		k2 = bits.RotateLeft64(k2, 33)
		k2 *= murmurC1
		h2 ^= k2
	}
	if len(key) > 0 {
		k1 *= murmurC1
		k1 = bits.RotateLeft64(k1, 31)
		k1 *= murmurC2
		h1 ^= k1
	}
	h1 ^= uint64(n)
	h2 ^= uint64(n)
	h1 += h2
	h2 += h1
	h1 = fmix64(h1)
	h2 = fmix64(h2)
	return h1 + h2
}

func TestMurmur3SignExtension(t *testing.T) {
	differ := 0
	for _, v := range murmur3Vectors {
		key, _ := vectorKey(t, v.components)
		tailHigh := false
		for _, c := range key[len(key)/16*16:] {
			tailHigh = tailHigh || c >= 0x80
		}
		same := int64(textbookH1(key)) == Murmur3Token(key)
		if same == tailHigh {
			t.Errorf("key %x: textbook MurmurHash3 agrees: %v, but a tail byte >= 0x80: %v", key, same, tailHigh)
		}
		if !same {
			differ++
		}
	}
	if differ < 10 {
		t.Errorf("only %d vectors exercise the sign extension", differ)
	}
	// Textbook MurmurHash3 x64_128 of "hello" with seed 0 (h1 of the
	// published reference output), to anchor textbookH1 itself.
	if got := textbookH1([]byte("hello")); got != 0xcbd8a7b341bd9b02 {
		t.Errorf("textbook h1(hello) = %#x", got)
	}
}

func TestMurmur3EdgeCases(t *testing.T) {
	if got := Murmur3Token(nil); got != math.MinInt64 {
		t.Errorf("empty key: %d, want min int64", got)
	}
	if got := Murmur3Token([]byte{}); got != math.MinInt64 {
		t.Errorf("empty key: %d, want min int64", got)
	}
	if Murmur3Partitioner.Token(nil) != Murmur3Partitioner.MinToken() {
		t.Error("empty key is not the partitioner's minimum token")
	}
}
