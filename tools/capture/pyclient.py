#!/usr/bin/env python3
"""Traffic for captures: the DataStax Python quickstart over a PLAIN connection (so that a
packet capture can read it), at a fixed protocol version and compression.

    pyclient.py --protocol 4|5 --compression none|lz4|snappy

Settings of the node come from the CQLWIRE_* environment (see devcluster/README.md).
"""

import argparse
import os
import sys
import time

from cassandra import ConsistencyLevel, ReadFailure
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import DCAwareRoundRobinPolicy


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--protocol", type=int, choices=(4, 5), required=True)
    p.add_argument("--compression", choices=("none", "lz4", "snappy"), default="none")
    args = p.parse_args()
    compression = False if args.compression == "none" else args.compression
    hosts = os.environ.get("CQLWIRE_HOSTS", "127.0.0.1").split(",")
    auth = PlainTextAuthProvider(username=os.environ.get("CQLWIRE_USERNAME", "cassandra"),
                                 password=os.environ.get("CQLWIRE_PASSWORD", "cassandra"))
    profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy(local_dc="datacenter1"),
                               consistency_level=ConsistencyLevel.ONE, request_timeout=30)
    cluster = Cluster(hosts, port=int(os.environ.get("CQLWIRE_PORT", "9042")), auth_provider=auth,
                      protocol_version=args.protocol, compression=compression,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile}, connect_timeout=10)
    session = cluster.connect()
    if cluster.protocol_version != args.protocol:
        sys.exit("negotiated protocol v%d, wanted v%d" % (cluster.protocol_version, args.protocol))
    print("release_version", session.execute("SELECT release_version FROM system.local").one().release_version)

    ks = "capture_v%d_%s" % (args.protocol, args.compression)
    session.execute("DROP KEYSPACE IF EXISTS %s" % ks)
    session.execute("CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" % ks)
    session.execute("CREATE TABLE %s.vector_test (id int PRIMARY KEY, item_vector vector<float, 5>)" % ks)
    session.execute("CREATE CUSTOM INDEX ann_index ON %s.vector_test(item_vector) USING 'StorageAttachedIndex'" % ks)
    session.execute("INSERT INTO %s.vector_test (id, item_vector) VALUES (1, [0.1, 0.15, 0.3, 0.12, 0.05])" % ks)
    insert = session.prepare("INSERT INTO %s.vector_test (id, item_vector) VALUES (?, ?)" % ks)
    session.execute(insert, (2, [0.45, 0.09, 0.01, 0.2, 0.11]))
    session.execute(insert, (3, [0.1, 0.05, 0.08, 0.3, 0.6]))
    ann = "SELECT * FROM %s.vector_test ORDER BY item_vector ANN OF [3.4, 7.8, 9.1, 1.5, 8.8] LIMIT 3" % ks
    for attempt in range(40):  # a new SAI index is built in the background: wait until it serves
        try:
            rows = list(session.execute(ann))
            break
        except ReadFailure:
            if attempt == 39:
                raise
            time.sleep(0.25)
    print("ann ids", [r.id for r in rows])
    if [r.id for r in rows] != [1, 3, 2]:
        sys.exit("unexpected ANN order %r" % [r.id for r in rows])
    if args.protocol >= 5:
        # A request and a result large enough to need several v5 segments (over 128 KiB).
        data = bytes((i * 7 + i // 256) % 251 for i in range(135000))
        session.execute("CREATE TABLE %s.big (id int PRIMARY KEY, data blob)" % ks)
        session.execute(session.prepare("INSERT INTO %s.big (id, data) VALUES (?, ?)" % ks), (1, data))
        big = session.execute("SELECT data FROM %s.big WHERE id = 1" % ks).one().data
        if big != data:
            sys.exit("big blob came back with %d bytes" % len(big))
    try:
        session.execute("SELECT * FROM %s.no_such_table" % ks)
    except Exception as e:  # an ERROR frame in the capture, on purpose
        print("expected error:", type(e).__name__)
    session.execute("DROP KEYSPACE %s" % ks)
    cluster.shutdown()


if __name__ == "__main__":
    main()
