// Package krbtest runs a real, throw-away MIT Kerberos KDC for tests, and
// provides the server side of SASL GSSAPI that package auth/kerberos's
// login is tested against.
//
// Start creates, in a temporary directory, a realm (CQLWIRE.TEST) with
// kdb5_util, a kdc.conf and a krb5.conf pointing at 127.0.0.1 on a free
// port, starts krb5kdc in the foreground as a child process (killed by pid
// in t.Cleanup, and by the kernel should the test binary die), and adds
// with kadmin.local a user with a password, a user with a keytab and a
// service principal (cassandra/localhost) with a keytab. Creating the realm
// and starting the KDC takes some tens of milliseconds.
//
// It needs Debian's krb5-kdc, krb5-admin-server and krb5-user (krb5kdc,
// kdb5_util, kadmin.local, kinit). Without them Start skips the test with a
// message saying what to install, unless CQLWIRE_REQUIRE_CASSANDRA or CI is
// set to a true value, in which case the test fails: CI must never skip
// the Kerberos tests silently (.ci/run installs the packages).
//
// Apache Cassandra has no Kerberos authenticator (DSE has one; for Apache
// Cassandra there are only third-party plugins), so the server side of the
// exchange cannot be a real node: Acceptor validates the client's AP-REQ
// with gokrb5's service-side code and the service keytab, and performs the
// SASL GSSAPI exchange of RFC 4752, security-layer step included, the way a
// Java SASL server (as in DSE) does. Its Session has the Step method of
// internal/testserver's SASLServer, so it plugs into the in-process CQL
// server:
//
//	acc, _ := krbtest.LoadAcceptor(kdc.ServiceKeytab, kdc.ServicePrincipal)
//	srv, _ := testserver.Start(testserver.Options{
//		Authenticator: "com.example.KerberosAuthenticator",
//		NewSASL: func(*testserver.ConnInfo) testserver.SASLServer { return acc.NewSession() },
//	})
//
// The acceptor is written independently of auth/kerberos (its wrap tokens
// come from gokrb5's gssapi package, its framing from gokrb5's spnego
// package and the standard library's encoding/asn1), so that a mistake in
// the client is not mirrored by the server. As a reference that shares no
// code with either, KDC.StartMIT runs the same server side on MIT's own
// GSS-API library (a small Python script using Debian's python3-gssapi),
// one process per exchange.
package krbtest
