package frame_test

import (
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/redact/redacttest"
)

// An AUTH_RESPONSE holding a PLAIN token prints its length only; Describe,
// for captured traffic, keeps the bytes.
func TestAuthResponseNeverPrintsToken(t *testing.T) {
	const password = "Frame-Pa55w0rd-0b1c"
	m := &frame.AuthResponse{Token: []byte("\x00app\x00" + password)}
	redacttest.Check(t, m, password)
	redacttest.Check(t, frame.Envelope{Message: m}, password)
	redacttest.CheckPrints(t, (*frame.AuthResponse)(nil))
	if d := frame.DescribeMessage(m); !strings.Contains(d, "0x00617070") {
		t.Errorf("Describe lost the token:\n%s", d)
	}
}
