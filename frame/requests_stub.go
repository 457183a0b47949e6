package frame

// decodeRequest decodes the body of a request opcode; known is false for
// opcodes that are not requests. (Stub: replaced by requests.go.)
func decodeRequest(op Opcode, v Version, r *reader) (msg Message, known bool) { return nil, false }
