// Package auth implements the SASL mechanisms a Cassandra connection uses to
// log in: PLAIN (PasswordAuthenticator), and DSE's DseAuthenticator
// (mechanism selection, authorization id for proxy login, and the
// proxy-execute payload). GSSAPI / Kerberos is package auth/kerberos, which
// only the programs that log in with Kerberos import.
//
// A mechanism is a challenge/response state machine over byte tokens: it
// knows nothing of connections, frames or sockets. Package conn drives it
// with the server's AUTHENTICATE, AUTH_CHALLENGE and AUTH_SUCCESS messages:
// Authenticator.Start gets the class name from AUTHENTICATE and the node's
// host, and returns the first AUTH_RESPONSE token; each AUTH_CHALLENGE goes
// to Exchange.Challenge, whose answer is the next AUTH_RESPONSE (a non-nil
// empty answer is an empty token, not a null one); AUTH_SUCCESS goes to
// Exchange.Success.
//
// # Mechanisms
//
//   - Plain: login and password. With any authenticator class but
//     DSEAuthenticator the initial response is the PLAIN token (RFC 4616)
//     authzid NUL login NUL password, e.g. 00 62 6f 62 00 70 77 for bob/pw.
//   - With DSEAuthenticator ("com.datastax.bdp.cassandra.auth.DseAuthenticator")
//     the client first names its mechanism: the initial response is "PLAIN"
//     (or "GSSAPI"), DSE challenges with "PLAIN-START" (or "GSSAPI-START"),
//     and the answer is the mechanism's first token. An authorization id
//     (Plain.AuthorizationID, kerberos.Config.AuthorizationID) logs in as one
//     role and acts as another (proxy login, DSE 5.1+): in the PLAIN token
//     before the first NUL, e.g. 61 6c 69 63 65 00 62 6f 62 00 70 77 for
//     bob/pw acting as alice; in GSSAPI, after the 4 bytes of the final
//     security-layer message.
//   - ProxyExecute returns the custom payload {"ProxyExecute": role} that
//     runs one request as another role on DSE.
//   - GSSAPI (package auth/kerberos, kerberos.New): Kerberos V5 through
//     SASL GSSAPI (RFC 4752), with credentials from a password, a keytab or
//     a ticket cache; see kerberos.GSSAPI for the exact tokens.
//
// Any authenticator class is accepted by default, as other drivers do;
// AllowedAuthenticators restricts it.
//
// Credentials never appear in errors, logs or printed output: passwords are
// of type Secret, which prints as "[redacted]" with every fmt verb, in
// log/slog and in JSON, and the mechanisms and exchanges print only their
// principal or login.
//
// It must never import conn, pool, cluster or query, nor gokrb5 (or
// anything else that imports it, such as auth/kerberos): every program that
// connects imports auth, and one that logs in with a password must not link
// Kerberos, gokrb5's helper modules and golang.org/x/crypto
// (internal/deps's test checks it). Code that auth/kerberos shares with
// this package is in auth/internal/sasl.
package auth
