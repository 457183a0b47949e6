// Command kerberos is cmd/importcost/cqlwire logging in with Kerberos
// (auth/kerberos) instead of a password: what a Kerberos user of cqlwire
// links.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/cqlwire/cqlwire/auth/kerberos"
	"github.com/cqlwire/cqlwire/cluster"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	port, err := strconv.Atoi(env("CQLWIRE_PORT", "9042"))
	if err != nil {
		log.Fatalf("CQLWIRE_PORT: %v", err)
	}
	// Credentials from the default ticket cache (kinit), or a keytab.
	krb, err := kerberos.New(kerberos.Config{KeytabFile: os.Getenv("CQLWIRE_KEYTAB"), ServiceName: env("CQLWIRE_SERVICE", kerberos.DefaultServiceName)})
	if err != nil {
		log.Fatal(err)
	}
	defer krb.Close()
	session, err := cluster.Connect(ctx, cluster.Config{
		ContactPoints: []string{env("CQLWIRE_HOSTS", "127.0.0.1")},
		Port:          port,
		Authenticator: krb,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()
	var version string
	if err := session.Query("SELECT release_version FROM system.local").One(ctx, &version); err != nil {
		log.Fatal(err)
	}
	fmt.Println("release_version:", version)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
