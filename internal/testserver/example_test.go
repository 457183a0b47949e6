package testserver_test

import (
	"fmt"
	"sync"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

// A server that answers everything as the answering machine, except that
// the third QUERY of each connection is never answered and any query
// "SELECT slow" comes back after 50ms.
func Example() {
	var mu sync.Mutex // handlers of different connections run concurrently
	queries := map[int64]int{}
	srv, err := testserver.Start(testserver.Options{
		Echo: true, // answers carry the request's values: match them by content
		Handler: func(req *testserver.Request) testserver.Reply {
			rep := req.Default()
			if req.Header.Opcode != frame.OpQuery {
				return rep
			}
			mu.Lock()
			queries[req.Conn.ID]++
			n := queries[req.Conn.ID]
			mu.Unlock()
			if n == 3 {
				rep.Fault = testserver.FaultHold
			}
			if env, err := req.Envelope(); err == nil && env.Message.(*frame.Query).Query == "SELECT slow" {
				rep.Delay = 50 * time.Millisecond
			}
			return rep
		},
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	fmt.Println("dial", srv.Addr() != "")
	// Output: dial true
}

// Kerberos, DSE style: the GSSAPI acceptor of the auth tests plugs in as a
// mechanism of DSE's negotiation, next to PLAIN.
func ExampleDSE() {
	plain := &testserver.Plain{
		Users: map[string]string{"alice": "secret"},
		Proxy: map[string][]string{"alice": {"reports"}}, // alice may log in as role "reports"
	}
	var newKerberos func(*testserver.ConnInfo) testserver.SASLServer // e.g. a gokrb5 acceptor
	mechs := map[string]func(*testserver.ConnInfo) testserver.SASLServer{"PLAIN": plain.NewSASL}
	if newKerberos != nil {
		mechs["GSSAPI"] = newKerberos
	}
	srv, err := testserver.Start(testserver.Options{
		Authenticator: testserver.DSEAuthenticator,
		NewSASL:       testserver.DSE(mechs, "PLAIN"),
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	fmt.Println(srv.Stats().Accepted)
	// Output: 0
}
