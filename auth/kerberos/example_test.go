package kerberos_test

import (
	"context"
	"log"

	"github.com/cqlwire/cqlwire/auth/kerberos"
	"github.com/cqlwire/cqlwire/cluster"
)

// Log in with Kerberos (SASL GSSAPI), here with a keytab. One GSSAPI
// authenticator serves every connection of the session and renews its
// tickets.
func ExampleNew() {
	ctx := context.Background()
	krb, err := kerberos.New(kerberos.Config{
		Principal:   "app@EXAMPLE.COM",
		KeytabFile:  "/etc/app/app.keytab",
		ServiceName: "cassandra", // the nodes' principal is cassandra/<host>@EXAMPLE.COM
	})
	if err != nil {
		log.Fatal(err)
	}
	defer krb.Close()
	session, err := cluster.Connect(ctx, cluster.Config{
		ContactPoints: []string{"node1.example.com"},
		Authenticator: krb,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()
}
