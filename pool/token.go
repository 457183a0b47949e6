package pool

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Token is a position on the token ring, as one [Partitioner] defines it.
// Tokens of the same partitioner are ordered by [Token.Compare] and can be
// compared with ==. The zero Token is not a valid token of any partitioner.
type Token struct {
	kind tokenKind
	// hi, lo: numeric tokens, biased so that unsigned comparison of
	// (hi, lo) orders them. Murmur3: hi = value ^ 1<<63, lo = 0.
	// Random: the 128-bit value + 1 (so that the minimum, -1, is 0).
	hi, lo uint64
	b      string // ByteOrdered: the key bytes
}

type tokenKind uint8

const (
	kindNone tokenKind = iota
	kindMurmur3
	kindRandom
	kindByteOrdered
)

// Murmur3 returns the Murmur3Partitioner token with value v.
func Murmur3(v int64) Token {
	return Token{kind: kindMurmur3, hi: uint64(v) ^ 1<<63}
}

// Int64 returns the value of a Murmur3Partitioner token; ok is false for
// tokens of other partitioners.
func (t Token) Int64() (v int64, ok bool) {
	if t.kind != kindMurmur3 {
		return 0, false
	}
	return int64(t.hi ^ 1<<63), true
}

// Compare returns -1, 0 or +1 as t is before, equal to or after u on the
// ring. Tokens of different partitioners are ordered by partitioner.
func (t Token) Compare(u Token) int {
	switch {
	case t.kind != u.kind:
		return cmpInt(int(t.kind), int(u.kind))
	case t.hi != u.hi:
		return cmpU64(t.hi, u.hi)
	case t.lo != u.lo:
		return cmpU64(t.lo, u.lo)
	}
	return strings.Compare(t.b, u.b)
}

// less is Compare(u) < 0 without the kind check, for ring searches where
// every token has the same partitioner.
func (t Token) less(u Token) bool {
	if t.hi != u.hi {
		return t.hi < u.hi
	}
	if t.lo != u.lo {
		return t.lo < u.lo
	}
	return t.b < u.b
}

func cmpU64(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

func cmpInt(a, b int) int {
	if a < b {
		return -1
	}
	return 1
}

// String formats the token as Cassandra does in system.local and
// system.peers: a decimal number for Murmur3 and Random, hexadecimal bytes
// for ByteOrdered.
func (t Token) String() string {
	switch t.kind {
	case kindMurmur3:
		v, _ := t.Int64()
		return strconv.FormatInt(v, 10)
	case kindRandom:
		return randomValue(t).String()
	case kindByteOrdered:
		return hex.EncodeToString([]byte(t.b))
	}
	return "<invalid token>"
}

// Partitioner turns partition keys into tokens and parses the token strings
// that nodes report. The three implementations are [Murmur3Partitioner],
// [RandomPartitioner] and [ByteOrderedPartitioner]; [PartitionerByName]
// finds one by the class name in system.local's partitioner column.
type Partitioner interface {
	// Name is the partitioner's Java class name, e.g.
	// "org.apache.cassandra.dht.Murmur3Partitioner".
	Name() string
	// Token returns the token of a routing key (see AppendRoutingKey).
	Token(key []byte) Token
	// ParseToken parses a token as system.local and system.peers report
	// it in their tokens column.
	ParseToken(s string) (Token, error)
	// MinToken is the partitioner's minimum token, which no key but the
	// empty key has.
	MinToken() Token
}

// The partitioners. They are stateless and safe for concurrent use.
var (
	// Murmur3Partitioner: tokens are int64, see Murmur3Token. The default
	// since Cassandra 1.2.
	Murmur3Partitioner Partitioner = murmur3Partitioner{}
	// RandomPartitioner: the token of a key is the absolute value of its
	// MD5 digest read as a signed 128-bit big-endian integer, so 0 to
	// 2^127; the empty key has the minimum token, -1.
	RandomPartitioner Partitioner = randomPartitioner{}
	// ByteOrderedPartitioner: the token of a key is the key itself,
	// ordered as unsigned bytes; written in hexadecimal. Token computes a
	// string from the key, the one partitioner whose Token allocates.
	ByteOrderedPartitioner Partitioner = byteOrderedPartitioner{}
)

// ErrUnknownPartitioner is returned by PartitionerByName for a class this
// package does not implement (e.g. OrderPreservingPartitioner or a custom
// one): token-aware routing is then impossible.
var ErrUnknownPartitioner = errors.New("pool: unknown partitioner")

// PartitionerByName returns the partitioner whose class name system.local
// reports, fully qualified ("org.apache.cassandra.dht.Murmur3Partitioner")
// or short ("Murmur3Partitioner").
func PartitionerByName(class string) (Partitioner, error) {
	short := class
	if i := strings.LastIndexByte(class, '.'); i >= 0 {
		short = class[i+1:]
	}
	switch short {
	case "Murmur3Partitioner":
		return Murmur3Partitioner, nil
	case "RandomPartitioner":
		return RandomPartitioner, nil
	case "ByteOrderedPartitioner":
		return ByteOrderedPartitioner, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownPartitioner, class)
}

type murmur3Partitioner struct{}

func (murmur3Partitioner) Name() string { return "org.apache.cassandra.dht.Murmur3Partitioner" }
func (murmur3Partitioner) Token(key []byte) Token {
	return Murmur3(Murmur3Token(key))
}
func (murmur3Partitioner) MinToken() Token { return Murmur3(math.MinInt64) }
func (murmur3Partitioner) ParseToken(s string) (Token, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return Token{}, fmt.Errorf("pool: Murmur3Partitioner token %q: %w", s, errors.Unwrap(err))
	}
	return Murmur3(v), nil
}

type randomPartitioner struct{}

func (randomPartitioner) Name() string { return "org.apache.cassandra.dht.RandomPartitioner" }

func (randomPartitioner) MinToken() Token { return Token{kind: kindRandom} } // -1, biased to 0

func (randomPartitioner) Token(key []byte) Token {
	if len(key) == 0 {
		return randomPartitioner{}.MinToken()
	}
	sum := md5.Sum(key)
	hi := binary.BigEndian.Uint64(sum[:8])
	lo := binary.BigEndian.Uint64(sum[8:])
	if hi>>63 == 1 { // negative: two's complement negation
		hi, lo = ^hi, ^lo
		lo++
		if lo == 0 {
			hi++
		}
	}
	// The absolute value is at most 2^127: adding the bias of 1 cannot
	// overflow 128 bits.
	lo++
	if lo == 0 {
		hi++
	}
	return Token{kind: kindRandom, hi: hi, lo: lo}
}

var (
	randomMax = new(big.Int).Lsh(big.NewInt(1), 127) // 2^127
	bigOne    = big.NewInt(1)
)

func (randomPartitioner) ParseToken(s string) (Token, error) {
	// Only the plain decimal form: big.Int.SetString would also accept
	// underscores and base prefixes.
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || len(digits) > 40 || strings.TrimLeft(digits, "0123456789") != "" {
		return Token{}, fmt.Errorf("pool: RandomPartitioner token %q: not a decimal integer", s)
	}
	v, _ := new(big.Int).SetString(s, 10)
	if v.Cmp(big.NewInt(-1)) < 0 || v.Cmp(randomMax) > 0 {
		return Token{}, fmt.Errorf("pool: RandomPartitioner token %q: out of range -1 to 2^127", s)
	}
	v.Add(v, bigOne)
	var buf [16]byte
	v.FillBytes(buf[:])
	return Token{kind: kindRandom, hi: binary.BigEndian.Uint64(buf[:8]), lo: binary.BigEndian.Uint64(buf[8:])}, nil
}

func randomValue(t Token) *big.Int {
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], t.hi)
	binary.BigEndian.PutUint64(buf[8:], t.lo)
	v := new(big.Int).SetBytes(buf[:])
	return v.Sub(v, bigOne)
}

type byteOrderedPartitioner struct{}

func (byteOrderedPartitioner) Name() string { return "org.apache.cassandra.dht.ByteOrderedPartitioner" }
func (byteOrderedPartitioner) Token(key []byte) Token {
	return Token{kind: kindByteOrdered, b: string(key)}
}
func (byteOrderedPartitioner) MinToken() Token { return Token{kind: kindByteOrdered} }
func (byteOrderedPartitioner) ParseToken(s string) (Token, error) {
	// Cassandra writes the bytes in hexadecimal and reads an odd number
	// of digits as if a leading 0 were there.
	h := s
	if len(h)%2 == 1 {
		h = "0" + h
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return Token{}, fmt.Errorf("pool: ByteOrderedPartitioner token %q: not hexadecimal", s)
	}
	return Token{kind: kindByteOrdered, b: string(b)}, nil
}
