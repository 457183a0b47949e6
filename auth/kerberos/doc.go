// Package kerberos logs in to Cassandra (DSE's DseAuthenticator, or a
// third-party Kerberos authenticator) with Kerberos V5 through SASL GSSAPI
// (RFC 4752), with credentials from a password, a keytab or a ticket cache.
//
// It is a package of its own so that only the programs that log in with
// Kerberos link gokrb5 and its helper modules (golang.org/x/crypto among
// them): package auth, and so conn and cluster, must never import it.
//
//	krb, err := kerberos.New(kerberos.Config{
//		KeytabFile:  "/etc/app.keytab", // or Password, or CCacheFile, or none: the default ticket cache
//		ServiceName: "cassandra",       // server principal cassandra/<node host>; default "dse"
//	})
//	if err != nil { ... }
//	defer krb.Close()
//	session, err := cluster.Connect(ctx, cluster.Config{ContactPoints: hosts, Authenticator: krb})
//
// A GSSAPI is an auth.Authenticator: one, and its ticket-granting ticket,
// serves every connection of a Session. See GSSAPI for the exact tokens
// exchanged. The service principal is ServiceName/host, where ServiceName
// defaults to "dse" (DefaultServiceName) and host is the node's host name
// or address, optionally canonicalised by reverse DNS. With
// DseAuthenticator the client first names its mechanism ("GSSAPI", answered
// by "GSSAPI-START"); an authorization id (Config.AuthorizationID) logs in
// as one role and acts as another (DSE proxy login), sent after the 4 bytes
// of the final security-layer message.
//
// Failures are *Error values naming the step, the client and service
// principals, and the Kerberos error code, never a password or key; the
// authenticator and its Config print only their principal and where the
// credentials come from (see auth.Describe).
//
// The tests run against a real, throw-away MIT KDC (internal/krbtest); they
// skip without MIT's tools unless CI or CQLWIRE_REQUIRE_CASSANDRA is set.
package kerberos
