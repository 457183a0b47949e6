#!/usr/bin/env bash
# Re-captures the Python quickstart's traffic with a local node for every protocol version and
# compression, and extracts the envelopes as conformance cases.
#   usage: tools/capture/capture.sh [OUTDIR]   (default testdata/frames/captured)
# Needs: a running node (make cassandra), the Python venv (make pyenv) with lz4 and
# python-snappy, tcpdump (Debian package), and root (or CAP_NET_RAW) to capture on lo.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/testdata/frames/captured}
py=${PYTHON:-$root/.venv/bin/python}
command -v tcpdump >/dev/null || { echo "capture.sh: tcpdump is missing (apt-get install tcpdump)" >&2; exit 1; }
"$py" -c 'import cassandra, lz4, snappy' 2>/dev/null || {
	echo "capture.sh: $py lacks cassandra-driver, lz4 or python-snappy (make pyenv; .venv/bin/pip install lz4 python-snappy)" >&2
	exit 1
}
eval "$("$root/devcluster/cluster.sh" env)"
mkdir -p "$out"
for variant in "4 none" "4 lz4" "4 snappy" "5 none" "5 lz4"; do
	set -- $variant
	name="python-v$1-$2"
	pcap="$out/$name.pcap"
	rm -f "$pcap"
	tcpdump -i lo -s 0 -U -w "$pcap" "tcp port ${CQLWIRE_PORT:-9042}" 2>/dev/null &
	tpid=$!
	trap 'kill -INT $tpid 2>/dev/null' EXIT
	sleep 1
	"$py" "$root/tools/capture/pyclient.py" --protocol "$1" --compression "$2"
	sleep 1
	kill -INT "$tpid"
	wait "$tpid" || true
	rm -rf "${out:?}/$name"
	(cd "$root/tools" && go run ./cmd/cqlcap extract -o "$out/$name" "$pcap")
	(cd "$root/tools" && go run ./cmd/cqlcap verify "$pcap" >/dev/null)
	echo "$name: $(stat -c %s "$pcap") bytes, $(ls "$out/$name" | wc -l) envelopes"
done
