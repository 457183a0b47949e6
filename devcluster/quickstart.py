#!/usr/bin/env python3
"""Smoke test of the running devcluster with the DataStax Python driver (the reference client).

It follows the driver's vector-search quickstart: log in as cassandra/cassandra, over
TLS verified with the devcluster CA, create a keyspace and a table with a
vector<float, 5> column, a storage-attached (SAI) index, three rows, then an ANN query.
It also checks that a plain (non-TLS) connection works on the same port.

With --quickstart-output it instead performs the steps of the Go quickstart
(examples/quickstart: keyspace cqlwire_quickstart, table vector_test (id, text, vector)
with a cosine SAI index, three rows, an ANN query with similarity_cosine) over TLS
and prints exactly that program's lines, so that the two outputs can be compared.

Settings come from the environment that `devcluster/cluster.sh env` prints (the
Makefile exports it when a node runs): CQLWIRE_HOSTS, CQLWIRE_PORT, CQLWIRE_USERNAME,
CQLWIRE_PASSWORD, CQLWIRE_TLS_CA, CQLWIRE_TLS_CERT, CQLWIRE_TLS_KEY. Exit status 0 only
if every step worked.
"""

import math
import os
import ssl
import sys
import time

from cassandra import ConsistencyLevel, ReadFailure
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import DCAwareRoundRobinPolicy

KEYSPACE = "cqlwire_smoke"
QUERY_VECTOR = [3.4, 7.8, 9.1, 1.5, 8.8]
ROWS = {
    1: [0.1, 0.15, 0.3, 0.12, 0.05],
    2: [0.45, 0.09, 0.01, 0.2, 0.11],
    3: [0.1, 0.05, 0.08, 0.3, 0.6],
}


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        sys.exit("quickstart.py: %s is not set; start a node (make cassandra) and run "
                 "`eval \"$(devcluster/cluster.sh env)\"`, or use `make smoke-python`" % name)
    return value


def connect(hosts, port, auth, ssl_context=None):
    profile = ExecutionProfile(
        load_balancing_policy=DCAwareRoundRobinPolicy(local_dc=os.environ.get("CQLWIRE_DC", "datacenter1")),
        consistency_level=ConsistencyLevel.QUORUM,
        request_timeout=30,
    )
    cluster = Cluster(hosts, port=port, auth_provider=auth, ssl_context=ssl_context,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile}, connect_timeout=10)
    return cluster, cluster.connect()


def tls_context():
    """TLS, verifying the server against the devcluster CA (and its IP in subjectAltName)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(env("CQLWIRE_TLS_CA"))
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    if os.environ.get("CQLWIRE_TLS_CERT") and os.environ.get("CQLWIRE_TLS_KEY"):
        ctx.load_cert_chain(os.environ["CQLWIRE_TLS_CERT"], os.environ["CQLWIRE_TLS_KEY"])
    return ctx


def execute_ann(session, query):
    """Runs an ANN query, waiting for a new SAI index: it is built in the background, and
    until then queries fail with INDEX_NOT_AVAILABLE (a ReadFailure)."""
    for attempt in range(40):
        try:
            return list(session.execute(query))
        except ReadFailure:
            if attempt == 39:
                raise
            time.sleep(0.25)


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def main():
    hosts = env("CQLWIRE_HOSTS").split(",")
    port = int(env("CQLWIRE_PORT", "9042"))
    auth = PlainTextAuthProvider(username=env("CQLWIRE_USERNAME", "cassandra"),
                                 password=env("CQLWIRE_PASSWORD", "cassandra"))

    # 1. A plain connection on the shared port.
    cluster, session = connect(hosts, port, auth)
    version = session.execute("SELECT release_version FROM system.local").one().release_version
    print("plain: connected to %s, release_version %s, protocol v%d"
          % (",".join(hosts), version, cluster.protocol_version))
    cluster.shutdown()

    # 2. TLS, verifying the server against the devcluster CA (and its IP in subjectAltName).
    cluster, session = connect(hosts, port, auth, ssl_context=tls_context())
    row = session.execute("SELECT release_version FROM system.local").one()
    print("tls:   connected, release_version %s" % row.release_version)
    if not row.release_version.startswith("5.0"):
        raise SystemExit("expected a Cassandra 5.0 node, got %s" % row.release_version)

    rf = min(len(hosts), 3)
    session.execute("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': %d}" % (KEYSPACE, rf))
    session.set_keyspace(KEYSPACE)
    session.execute("DROP TABLE IF EXISTS vector_test")
    session.execute("CREATE TABLE IF NOT EXISTS vector_test (id int PRIMARY KEY, item_vector vector<float, 5>)")
    session.execute("CREATE CUSTOM INDEX IF NOT EXISTS ann_index ON vector_test(item_vector) "
                    "USING 'StorageAttachedIndex'")
    # One row as a CQL literal, two bound through a prepared statement (the driver's vector codec).
    session.execute("INSERT INTO vector_test (id, item_vector) VALUES (1, %s)" % ROWS[1])
    insert = session.prepare("INSERT INTO vector_test (id, item_vector) VALUES (?, ?)")
    for key in (2, 3):
        session.execute(insert, (key, ROWS[key]))

    ann = "SELECT * FROM vector_test ORDER BY item_vector ANN OF %s LIMIT 3" % QUERY_VECTOR
    rows = execute_ann(session, ann)
    for r in rows:
        print("row: id=%d item_vector=%s" % (r.id, [round(x, 4) for x in r.item_vector]))
    got = [r.id for r in rows]
    # SAI's default similarity function is cosine.
    want = sorted(ROWS, key=lambda k: cosine(ROWS[k], QUERY_VECTOR), reverse=True)
    if got != want:
        raise SystemExit("ANN order: got ids %s, want %s" % (got, want))
    for r in rows:
        if any(abs(a - b) > 1e-6 for a, b in zip(r.item_vector, ROWS[r.id])):
            raise SystemExit("row %d: item_vector %s, want %s" % (r.id, r.item_vector, ROWS[r.id]))
    cluster.shutdown()
    print("ok: 3 rows in the expected order %s" % got)


# --quickstart-output: the data and the query of examples/quickstart/main.go.
QUICKSTART_ROWS = [
    (1, "ChatGPT integrated sneakers that talk to you", [0.1, 0.15, 0.3, 0.12, 0.05]),
    (2, "An AI quilt to help you sleep forever", [0.45, 0.09, 0.01, 0.2, 0.11]),
    (3, "A deep learning display that controls your mood", [0.1, 0.05, 0.08, 0.3, 0.6]),
]
QUICKSTART_ANN = ("SELECT id, text, similarity_cosine(vector, [0.15, 0.1, 0.1, 0.35, 0.55]) AS sim "
                  "FROM cqlwire_quickstart.vector_test "
                  "ORDER BY vector ANN OF [0.15, 0.1, 0.1, 0.35, 0.55] LIMIT 2")


def quickstart_output():
    """The Go quickstart's steps with the Python driver, printing only its lines."""
    hosts = env("CQLWIRE_HOSTS", "127.0.0.1").split(",")
    port = int(env("CQLWIRE_PORT", "9042"))
    auth = PlainTextAuthProvider(username=env("CQLWIRE_USERNAME", "cassandra"),
                                 password=env("CQLWIRE_PASSWORD", "cassandra"))
    cluster, session = connect(hosts, port, auth, ssl_context=tls_context())
    print("release_version: %s" % session.execute("SELECT release_version FROM system.local").one().release_version)
    session.execute("CREATE KEYSPACE IF NOT EXISTS cqlwire_quickstart "
                    "WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute("CREATE TABLE IF NOT EXISTS cqlwire_quickstart.vector_test "
                    "(id int PRIMARY KEY, text text, vector vector<float, 5>)")
    session.execute("CREATE CUSTOM INDEX IF NOT EXISTS vector_test_ann ON cqlwire_quickstart.vector_test (vector) "
                    "USING 'StorageAttachedIndex' WITH OPTIONS = {'similarity_function': 'cosine'}")
    insert = session.prepare("INSERT INTO cqlwire_quickstart.vector_test (id, text, vector) VALUES (?, ?, ?)")
    for key, text, vector in QUICKSTART_ROWS:
        session.execute(insert, (key, text, vector))
    for r in execute_ann(session, QUICKSTART_ANN):
        print('[%d] "%s" (sim: %.4f)' % (r.id, r.text, r.sim))
    cluster.shutdown()


if __name__ == "__main__":
    if sys.argv[1:] == ["--quickstart-output"]:
        quickstart_output()
    elif sys.argv[1:]:
        sys.exit("usage: quickstart.py [--quickstart-output]")
    else:
        main()
