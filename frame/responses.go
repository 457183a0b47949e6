package frame

// Response messages (v4 and v5 spec section 4.2). The ERROR codes are in
// error_codes.go, the RESULT kinds in result.go and rows.go, the events in
// event.go.
//
// All response types implement Message with pointer receivers, and decoders
// return pointers: switch on *Ready, *Rows, *Error, ... Decoded messages
// alias the body they were decoded from ([]byte fields, rows content).

// Ready is the READY response: the connection is ready for queries. Its body
// is empty.
type Ready struct{}

func (*Ready) Opcode() Opcode { return OpReady }

func (*Ready) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := writer{buf: dst, msg: "READY"}
	if !responseVersionOK(&w, v, V3) {
		return dst, w.err
	}
	return dst, nil
}

// Authenticate is the AUTHENTICATE response to STARTUP: the server requires
// SASL authentication with the named authenticator.
type Authenticate struct {
	// Authenticator is the full class name of the server's IAuthenticator,
	// e.g. "org.apache.cassandra.auth.PasswordAuthenticator".
	Authenticator string
}

func (*Authenticate) Opcode() Opcode { return OpAuthenticate }

func (m *Authenticate) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := writer{buf: dst, msg: "AUTHENTICATE"}
	if responseVersionOK(&w, v, V3) {
		w.string("authenticator", m.Authenticator)
	}
	return finish(&w, dst)
}

// Supported is the SUPPORTED response to OPTIONS: for each STARTUP option the
// server supports, the values it accepts (e.g. "COMPRESSION": ["snappy",
// "lz4"], and in v5 "PROTOCOL_VERSIONS": ["3/v3", "4/v4", "5/v5"]).
//
// A decoded message always has a non-nil map. Keys are encoded in sorted
// order; the wire does not fix an order, so a captured SUPPORTED may
// re-encode with its keys in another order (and a repeated key keeps its last
// value).
type Supported struct {
	Options map[string][]string
}

func (*Supported) Opcode() Opcode { return OpSupported }

func (m *Supported) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := writer{buf: dst, msg: "SUPPORTED"}
	if responseVersionOK(&w, v, V3) {
		w.stringMultimap("options", m.Options)
	}
	return finish(&w, dst)
}

// AuthChallenge is the AUTH_CHALLENGE response: a SASL challenge the client
// answers with AUTH_RESPONSE.
type AuthChallenge struct {
	// Token is the challenge; nil is a null token. Decoded tokens alias the
	// body.
	Token []byte
}

func (*AuthChallenge) Opcode() Opcode { return OpAuthChallenge }

func (m *AuthChallenge) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := writer{buf: dst, msg: "AUTH_CHALLENGE"}
	if responseVersionOK(&w, v, V3) {
		w.bytes("token", m.Token)
	}
	return finish(&w, dst)
}

// AuthSuccess is the AUTH_SUCCESS response: authentication succeeded.
type AuthSuccess struct {
	// Token is the server's final SASL data; nil is a null token (what
	// PasswordAuthenticator sends).
	Token []byte
}

func (*AuthSuccess) Opcode() Opcode { return OpAuthSuccess }

func (m *AuthSuccess) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := writer{buf: dst, msg: "AUTH_SUCCESS"}
	if responseVersionOK(&w, v, V3) {
		w.bytes("token", m.Token)
	}
	return finish(&w, dst)
}

// decodeResponse decodes the body of a response opcode; known is false for
// opcodes that are not responses. On failure it returns known=true and leaves
// the error in r.
//
// Protocol v3 is accepted for the messages whose layout v3 shares with v4
// (everything but RESULT and EVENT), so that a v3 server's ERROR or SUPPORTED
// can be read during version negotiation.
func decodeResponse(op Opcode, v Version, r *reader) (msg Message, known bool) {
	min := V3
	switch op {
	case OpError, OpReady, OpAuthenticate, OpSupported, OpAuthChallenge, OpAuthSuccess:
	case OpResult, OpEvent:
		min = V4
	default:
		return nil, false
	}
	if v < min || v > V5 {
		r.fail("version", &UnsupportedVersionError{Version: v})
		return nil, true
	}
	switch op {
	case OpError:
		if e := decodeError(r, v); e != nil {
			return e, true
		}
		return nil, true
	case OpReady:
		return &Ready{}, true
	case OpAuthenticate:
		return &Authenticate{Authenticator: r.string("authenticator")}, true
	case OpSupported:
		return &Supported{Options: r.stringMultimap("options")}, true
	case OpAuthChallenge:
		return &AuthChallenge{Token: r.bytes("token")}, true
	case OpAuthSuccess:
		return &AuthSuccess{Token: r.bytes("token")}, true
	case OpResult:
		return decodeResult(r, v), true
	default:
		return decodeEvent(r, v), true
	}
}

// responseVersionOK fails w unless v is between min and V5.
func responseVersionOK(w *writer, v Version, min Version) bool {
	if v < min || v > V5 {
		w.fail("version", &UnsupportedVersionError{Version: v})
		return false
	}
	return true
}

// finish returns the encoded body, or dst unchanged and the first error.
func finish(w *writer, dst []byte) ([]byte, error) {
	if w.err != nil {
		return dst, w.err
	}
	return w.buf, nil
}
