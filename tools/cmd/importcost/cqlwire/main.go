// Command cqlwire is the smallest useful cqlwire program, for importcost:
// log in with a password and read the node's release version.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/cluster"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	port, err := strconv.Atoi(env("CQLWIRE_PORT", "9042"))
	if err != nil {
		log.Fatalf("CQLWIRE_PORT: %v", err)
	}
	session, err := cluster.Connect(ctx, cluster.Config{
		ContactPoints: []string{env("CQLWIRE_HOSTS", "127.0.0.1")},
		Port:          port,
		Username:      env("CQLWIRE_USERNAME", "cassandra"),
		Password:      auth.Secret(env("CQLWIRE_PASSWORD", "cassandra")),
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
