// Command gocql is cmd/importcost/cqlwire written with gocql: log in with a
// password and read the node's release version.
package main

import (
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

func main() {
	port, err := strconv.Atoi(env("CQLWIRE_PORT", "9042"))
	if err != nil {
		log.Fatalf("CQLWIRE_PORT: %v", err)
	}
	cl := gocql.NewCluster(env("CQLWIRE_HOSTS", "127.0.0.1"))
	cl.Port = port
	cl.Timeout = 30 * time.Second
	cl.Authenticator = gocql.PasswordAuthenticator{
		Username: env("CQLWIRE_USERNAME", "cassandra"),
		Password: env("CQLWIRE_PASSWORD", "cassandra"),
	}
	session, err := cl.CreateSession()
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()
	var version string
	if err := session.Query("SELECT release_version FROM system.local").Scan(&version); err != nil {
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
