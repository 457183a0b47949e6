package frame

// decodeResponse decodes the body of a response opcode; known is false for
// opcodes that are not responses. (Stub: replaced by responses.go.)
func decodeResponse(op Opcode, v Version, r *reader) (msg Message, known bool) { return nil, false }
