package compress

import "errors"

// DefaultMaxSize is the decompressed size limit applied when
// AppendDecompressed is given a max of zero or less: 256 MiB, the protocol's
// body limit (frame.DefaultMaxFrameSize).
const DefaultMaxSize = 256 << 20

var (
	// ErrCorrupt is wrapped by errors for input that is not valid compressed
	// data, or whose declared length does not match what it decompresses to.
	ErrCorrupt = errors.New("corrupt input")
	// ErrTooLarge is wrapped by errors for a declared length above the limit.
	ErrTooLarge = errors.New("length exceeds limit")
)

func limit(max int) int {
	if max <= 0 {
		return DefaultMaxSize
	}
	return max
}

// grow returns dst extended by n bytes (their content unspecified), reusing
// its capacity when there is enough.
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) >= n {
		return dst[:len(dst)+n]
	}
	b := make([]byte, len(dst)+n, len(dst)+n)
	copy(b, dst)
	return b
}
