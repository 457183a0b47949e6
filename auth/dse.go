package auth

// ProxyExecuteKey is the custom payload key that makes DSE run one request
// as another role ("proxy execute"): the value is the role name in UTF-8.
// The logged-in role needs the PROXY.EXECUTE permission on that role.
const ProxyExecuteKey = "ProxyExecute"

// ProxyExecute returns the custom payload that runs one request as role on
// DSE: {"ProxyExecute": role's UTF-8 bytes}. For role "alice" the payload
// map, as a [bytes map] in the request envelope, is
//
//	00 01                                   one entry
//	00 0c 50 72 6f 78 79 45 78 65 63 75 74 65  [string] "ProxyExecute"
//	00 00 00 05 61 6c 69 63 65                 [bytes]  "alice"
//
// The caller attaches it to a request (frame.Envelope.CustomPayload); to
// add it to a payload that has other entries, use AddProxyExecute.
func ProxyExecute(role string) map[string][]byte {
	return map[string][]byte{ProxyExecuteKey: []byte(role)}
}

// AddProxyExecute sets the ProxyExecute entry in payload, allocating the
// map when it is nil, and returns it.
func AddProxyExecute(payload map[string][]byte, role string) map[string][]byte {
	if payload == nil {
		payload = make(map[string][]byte, 1)
	}
	payload[ProxyExecuteKey] = []byte(role)
	return payload
}
