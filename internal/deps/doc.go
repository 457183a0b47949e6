// Package deps holds the test that keeps the driver's import light: a
// program that logs in with a password and imports cluster (and so conn,
// auth, pool, query, frame, types) links no module but cqlwire, snappy and
// lz4. Kerberos (gokrb5, its helper modules and golang.org/x/crypto) is
// linked only by the programs that import auth/kerberos.
package deps
