// Command quickstart is the DataStax vector-search quickstart in Go: it logs in
// over TLS, creates a table with a vector<float, 5> column and a similarity
// index, inserts three rows and asks for the two nearest to a query vector.
//
// Start a local Cassandra 5.0 node and run it with
//
//	make quickstart
//
// It reads the node's settings from the environment, as `make cassandra-env`
// prints them: CQLWIRE_HOSTS (default 127.0.0.1), CQLWIRE_PORT (9042),
// CQLWIRE_USERNAME and CQLWIRE_PASSWORD (cassandra/cassandra), CQLWIRE_TLS_CA
// (the CA that signed the node's certificate; unset means the system's roots),
// and CQLWIRE_TLS_CERT/CQLWIRE_TLS_KEY (a client certificate, for nodes that
// require mutual TLS).
//
// Its output is compared line for line with the DataStax Python driver's
// (devcluster/quickstart.py --quickstart-output) by quickstart_test.go.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/cluster"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
)

// rows are the quickstart's data: an id, a text and its embedding.
var rows = []struct {
	id     int
	text   string
	vector []float32
}{
	{1, "ChatGPT integrated sneakers that talk to you", []float32{0.1, 0.15, 0.3, 0.12, 0.05}},
	{2, "An AI quilt to help you sleep forever", []float32{0.45, 0.09, 0.01, 0.2, 0.11}},
	{3, "A deep learning display that controls your mood", []float32{0.1, 0.05, 0.08, 0.3, 0.6}},
}

// annQuery returns the two rows nearest to a query vector, with their cosine
// similarity (Cassandra scales it to 0..1: 1 is the same direction).
const annQuery = `SELECT id, text, similarity_cosine(vector, [0.15, 0.1, 0.1, 0.35, 0.55]) AS sim
	FROM cqlwire_quickstart.vector_test
	ORDER BY vector ANN OF [0.15, 0.1, 0.1, 0.35, 0.55] LIMIT 2`

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	port, err := strconv.Atoi(getenv("CQLWIRE_PORT", "9042"))
	if err != nil {
		return fmt.Errorf("CQLWIRE_PORT: %w", err)
	}

	// Connect: one Session per cluster, shared by the whole program. The
	// node's certificate is verified against the CA (and the address dialled).
	session, err := cluster.Connect(ctx, cluster.Config{
		ContactPoints: strings.Split(getenv("CQLWIRE_HOSTS", "127.0.0.1"), ","),
		Port:          port,
		Username:      getenv("CQLWIRE_USERNAME", "cassandra"),
		Password:      auth.Secret(getenv("CQLWIRE_PASSWORD", "cassandra")),
		TLS: &conn.TLSOptions{
			CAFile:   os.Getenv("CQLWIRE_TLS_CA"),
			CertFile: os.Getenv("CQLWIRE_TLS_CERT"),
			KeyFile:  os.Getenv("CQLWIRE_TLS_KEY"),
		},
	})
	if err != nil {
		return err
	}
	defer session.Close()

	// One row, one column: One scans it into a Go variable.
	var version string
	if err := session.Query("SELECT release_version FROM system.local").One(ctx, &version); err != nil {
		return err
	}
	fmt.Println("release_version:", version)

	// The schema: a keyspace, a table with a vector column, and a
	// storage-attached index (SAI) that answers ANN queries by cosine
	// similarity. IF NOT EXISTS makes the program safe to run again; the
	// session waits until the node agrees on each schema change.
	for _, ddl := range []string{
		`CREATE KEYSPACE IF NOT EXISTS cqlwire_quickstart
			WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
		`CREATE TABLE IF NOT EXISTS cqlwire_quickstart.vector_test
			(id int PRIMARY KEY, text text, vector vector<float, 5>)`,
		`CREATE CUSTOM INDEX IF NOT EXISTS vector_test_ann ON cqlwire_quickstart.vector_test (vector)
			USING 'StorageAttachedIndex' WITH OPTIONS = {'similarity_function': 'cosine'}`,
	} {
		if err := session.Query(ddl).Exec(ctx); err != nil {
			return err
		}
	}

	// A statement with values is prepared once and then executed with each
	// row's values; a []float32 is sent as the vector, without conversion.
	for _, r := range rows {
		err := session.Query("INSERT INTO cqlwire_quickstart.vector_test (id, text, vector) VALUES (?, ?, ?)",
			r.id, r.text, r.vector).Exec(ctx)
		if err != nil {
			return err
		}
	}

	// A new index is built in the background: until it is ready the server
	// refuses queries that need it with a read failure, so try again a
	// little later (only the first run ever waits).
	var result *cluster.Result
	for attempt := 1; ; attempt++ {
		result, err = session.Query(annQuery).Run(ctx)
		if err == nil || !errors.Is(err, frame.CodeReadFailure) || attempt == 40 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	for row := range result.Rows() {
		var id int
		var text string
		var sim float32
		if err := row.Scan(&id, &text, &sim); err != nil {
			return err
		}
		fmt.Printf("[%d] \"%s\" (sim: %.4f)\n", id, text, sim)
	}
	return nil
}

// getenv returns the environment variable name, or def when it is unset or empty.
func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
