#!/usr/bin/env bash
# devcluster/cluster.sh: local Apache Cassandra 5.0 node(s) for cqlwire's integration tests.
#
# Node N listens on 127.0.0.N (CQL 9042, storage 7000, local JMX 7N99) and keeps its
# configuration, data, logs and pid under $CQLWIRE_RUN_DIR/nodeN. The server jars are
# resolved once with Maven into a per-version cache outside the work tree.
# See devcluster/README.md.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: devcluster/cluster.sh COMMAND [ARGS]

  start [N] [--mtls]  start N nodes (default 1) on 127.0.0.1..N and wait until each accepts
                      a CQL login as cassandra/cassandra; with N > 1 also set system_auth to
                      RF min(N,3) and check system.peers_v2 on every node. --mtls: TLS
                      connections must present a client certificate (plain ones still work)
  start --layout L [--mtls]
                      start one node per entry of L, in order, with GossipingPropertyFileSnitch
                      data centres and racks: L is a comma list of DC:RACK (one node) or
                      DC:COUNT (COUNT nodes on racks rack1..rackCOUNT), e.g. dc1:2,dc2:1 or
                      dc1:rack1,dc1:rack2,dc2:rack1; seeds: the first node of each DC;
                      system_auth NTS with min(nodes of the DC, 3) per DC
  stop                stop the nodes started here (recorded pids): SIGTERM, then SIGKILL
  stop-node N         stop only node N of the running nodes (its recorded pid: SIGTERM, wait,
                      SIGKILL after CQLWIRE_STOP_TIMEOUT); its data is kept
  start-node N [--address 127.0.0.M]
                      start node N again with its existing data (same set-up as the last
                      start) and wait until it accepts a CQL login; --address: on a new
                      loopback address (same data, same host_id: the node moves)
  add-node [--dc DC] [--rack RACK]
                      bootstrap a new node N+1 into the running ring (auto_bootstrap, one
                      token in the middle of the widest gap); wait until it is UN and serves CQL
  decommission-node N nodetool decommission on node N, then stop it (it has left the ring)
  removenode N        stop node N (if running), then nodetool removenode <its host_id> from
                      another node
  kill-node N         SIGKILL node N's recorded pid (a crash: no drain, no flush) and wait
                      until it is gone; its data is kept (start-node N brings it back)
  freeze-node N       SIGSTOP node N's recorded pid: the process and its sockets stay, but it
                      answers nothing (a hung JVM, a long GC pause) until thaw-node N
  thaw-node N         SIGCONT node N's recorded pid (after freeze-node)
  clean               stop, then delete the run directory (data, logs, certificates)
  status              show each node: address, pid, state, resident memory
  env                 print `export CQLWIRE_...` lines for the running nodes (eval-able)
  fetch               resolve the Cassandra jars into the cache (start does it when needed)
  java                print the JDK 17 java that will be used
  logs [N]            print the end of node N's system.log (default 1)
  cql [N] STMT...     run CQL statements on node N (default 1) as cassandra/cassandra
  nodetool [N] ARGS   run nodetool against node N (default 1) over local JMX

environment:
  CQLWIRE_RUN_DIR           node folders, certificates, env files (default <repo>/.cache/devcluster)
  CQLWIRE_CACHE_DIR         jar cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/cqlwire)
  CQLWIRE_CASSANDRA_HEAP    heap of each node (default 1G)
  CQLWIRE_START_TIMEOUT     seconds to wait for each node (default 240)
  CQLWIRE_STOP_TIMEOUT      seconds between SIGTERM and SIGKILL (default 60)
  CQLWIRE_JAVA_HOME         a JDK 17 to use instead of searching JAVA_HOME and /usr/lib/jvm
  CQLWIRE_ADDRESS_OFFSET    node N listens on 127.0.0.(N+offset), JMX 7099+(N+offset)*100
                            (default 0; with another CQLWIRE_RUN_DIR, a second set of nodes)
EOF
}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
RUN_DIR=${CQLWIRE_RUN_DIR:-$REPO/.cache/devcluster}
CASSANDRA_VERSION=$(sed -n 's:.*<cassandra.version>\(.*\)</cassandra.version>.*:\1:p' "$HERE/pom.xml")
CACHE_ROOT=${CQLWIRE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cqlwire}
INSTALL_DIR=$CACHE_ROOT/cassandra-$CASSANDRA_VERSION
LIB_DIR=$INSTALL_DIR/lib
MARKER=$INSTALL_DIR/.complete
HEAP=${CQLWIRE_CASSANDRA_HEAP:-1G}
START_TIMEOUT=${CQLWIRE_START_TIMEOUT:-240}
STOP_TIMEOUT=${CQLWIRE_STOP_TIMEOUT:-60}
CLIENT_AUTH=false # require_client_auth; start --mtls sets it
CQL_PORT=9042
STORAGE_PORT=7000
MAX_NODES=9
DC=datacenter1
RACK=rack1
TLS_DIR=$RUN_DIR/tls

log() { printf 'devcluster: %s\n' "$*" >&2; }
die() {
	printf 'devcluster: error: %s\n' "$*" >&2
	exit 1
}

now_ms() { date +%s%3N; }
secs_since() { # ms-timestamp -> "12.3"
	local d=$(($(now_ms) - $1))
	printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}

ADDRESS_OFFSET=${CQLWIRE_ADDRESS_OFFSET:-0}
[[ $ADDRESS_OFFSET =~ ^[0-9]+$ ]] && [ "$ADDRESS_OFFSET" -le 200 ] ||
	die "CQLWIRE_ADDRESS_OFFSET must be 0..200, not '$ADDRESS_OFFSET'"

node_dir() { echo "$RUN_DIR/node$1"; }
node_default_addr() { echo "127.0.0.$(($1 + ADDRESS_OFFSET))"; }
# node_addr n: the address node n was moved to (start-node --address), else its default.
node_addr() {
	local f
	f="$(node_dir "$1")/address"
	if [ -f "$f" ]; then cat "$f"; else node_default_addr "$1"; fi
}
node_jmx_port() { echo $((7099 + ($1 + ADDRESS_OFFSET) * 100)); } # 7199, 7299, ...
# node_tls_name n: the base name of node n's certificate files (one per address).
node_tls_name() {
	if [ -f "$(node_dir "$1")/address" ]; then echo "node$1-$(node_addr "$1")"; else echo "node$1"; fi
}
node_left() { [ -f "$(node_dir "$1")/left" ]; } # decommissioned or removed

# topo_get KEY: the value of KEY= in the recorded set-up (empty if none).
topo_get() {
	if [ -f "$RUN_DIR/topology" ]; then sed -n "s/^$1=//p" "$RUN_DIR/topology"; fi
}

# node_location n: "DC:RACK" of node n (the recorded layout, else datacenter1:rack1).
node_location() {
	local layout
	layout=$(topo_get layout)
	if [ -n "$layout" ]; then
		echo "$layout" | cut -d, -f"$1"
	else
		echo "$DC:$RACK"
	fi
}

# parse_layout SPEC: prints the layout as one DC:RACK per node, comma-separated.
parse_layout() {
	local spec=$1 entry dc what i out=() entries=()
	IFS=, read -ra entries <<<"$spec"
	[ ${#entries[@]} -gt 0 ] || die "empty --layout"
	for entry in "${entries[@]}"; do
		[[ $entry =~ ^([A-Za-z0-9_.-]+):([A-Za-z0-9_.-]+)$ ]] ||
			die "layout entry '$entry' is not DC:RACK or DC:COUNT (e.g. dc1:2,dc2:1 or dc1:rack1,dc2:rack1)"
		dc=${BASH_REMATCH[1]}
		what=${BASH_REMATCH[2]}
		if [[ $what =~ ^[0-9]+$ ]]; then
			[ "$what" -ge 1 ] || die "layout entry '$entry': the node count must be at least 1"
			for i in $(seq 1 "$what"); do out+=("$dc:rack$i"); done
		else
			out+=("$dc:$what")
		fi
	done
	[ ${#out[@]} -le "$MAX_NODES" ] || die "layout '$spec' has ${#out[@]} nodes; at most $MAX_NODES"
	(
		IFS=,
		echo "${out[*]}"
	)
}

active_nodes() { # node numbers 1..nodes of the recorded set-up that have not left the ring
	local n count
	count=$(topo_get nodes)
	[[ $count =~ ^[1-9]$ ]] || return 0
	for n in $(seq 1 "$count"); do node_left "$n" || echo "$n"; done
}

# seeds_of count: node 1 (no layout), else the first node of each data centre.
seeds_of() {
	local count=$1 n loc dc seen=" " out=""
	if [ -z "$(topo_get layout)" ]; then
		echo "$(node_addr 1):$STORAGE_PORT"
		return 0
	fi
	for n in $(seq 1 "$count"); do
		node_left "$n" && continue
		loc=$(node_location "$n")
		dc=${loc%%:*}
		[[ $seen == *" $dc "* ]] && continue
		seen+="$dc "
		out+="${out:+,}$(node_addr "$n"):$STORAGE_PORT"
	done
	echo "$out"
}

# dc_counts: "dc1:2,dc2:1", the active nodes per data centre in layout order.
dc_counts() {
	local n loc dc order=() out=""
	declare -A k=()
	for n in $(active_nodes); do
		loc=$(node_location "$n")
		dc=${loc%%:*}
		[ -n "${k[$dc]:-}" ] || order+=("$dc")
		k[$dc]=$((${k[$dc]:-0} + 1))
	done
	for dc in "${order[@]}"; do out+="${out:+,}$dc:${k[$dc]}"; done
	echo "$out"
}

# ---------------------------------------------------------------- prerequisites

JAVA=""
find_java() {
	[ -n "$JAVA" ] && return 0
	local cands=() d major seen=()
	[ -n "${CQLWIRE_JAVA_HOME:-}" ] && cands+=("$CQLWIRE_JAVA_HOME")
	[ -n "${JAVA_HOME:-}" ] && cands+=("$JAVA_HOME")
	for d in /usr/lib/jvm/*17* /usr/lib/jvm/*; do [ -d "$d" ] && cands+=("$d"); done
	for d in "${cands[@]}"; do
		[ -x "$d/bin/java" ] || continue
		major=$("$d/bin/java" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p')
		if [ "$major" = 17 ]; then
			JAVA_HOME_17=$d
			JAVA=$d/bin/java
			return 0
		fi
		seen+=("$d (java $major)")
	done
	die "no JDK 17 found (Cassandra 5.0 runs on 11 or 17; newer JDKs break it). Looked at CQLWIRE_JAVA_HOME, JAVA_HOME and /usr/lib/jvm/*${seen:+; found only: ${seen[*]}}. Install one (Debian: apt-get install openjdk-17-jdk-headless) or set CQLWIRE_JAVA_HOME."
}

need() {
	command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed (needed for: $2)"
}

# ---------------------------------------------------------------- jars

cmd_fetch() {
	if [ -f "$MARKER" ]; then
		return 0
	fi
	find_java
	need mvn "resolving the Cassandra $CASSANDRA_VERSION jars (Maven)"
	local tmp=$INSTALL_DIR/lib.partial t0
	t0=$(now_ms)
	log "resolving cassandra-all $CASSANDRA_VERSION and its runtime dependencies into $LIB_DIR (first time only)"
	rm -rf "$tmp" "$LIB_DIR"
	mkdir -p "$tmp"
	if ! JAVA_HOME=$JAVA_HOME_17 mvn -B -Dstyle.color=never -f "$HERE/pom.xml" \
		dependency:copy-dependencies "-Dcqlwire.lib=$tmp" >"$INSTALL_DIR/mvn.log" 2>&1; then
		tail -n 30 "$INSTALL_DIR/mvn.log" >&2
		die "Maven could not resolve org.apache.cassandra:cassandra-all:$CASSANDRA_VERSION (log: $INSTALL_DIR/mvn.log; is the Maven repository reachable?)"
	fi
	[ -f "$tmp/cassandra-all-$CASSANDRA_VERSION.jar" ] || die "Maven finished but $tmp/cassandra-all-$CASSANDRA_VERSION.jar is missing"
	mv "$tmp" "$LIB_DIR"
	local jars=("$LIB_DIR"/*.jar)
	printf 'cassandra-all %s\njars %s\nresolved %s\n' "$CASSANDRA_VERSION" "${#jars[@]}" "$(date -u +%FT%TZ)" >"$MARKER"
	log "resolved ${#jars[@]} jars ($(du -sh "$LIB_DIR" | cut -f1)) in $(secs_since "$t0") s"
}

# ---------------------------------------------------------------- certificates

# ensure_tls N: a CA, a server certificate for each node 1..N (its IP in subjectAltName),
# and a client certificate; each file is made only if it is missing.
ensure_tls() {
	need openssl "generating the TLS certificates"
	mkdir -p "$TLS_DIR"
	local subj="/O=cqlwire devcluster"
	# A subshell for cd/umask, run as a background job so that errexit stays on inside it.
	(
		cd "$TLS_DIR"
		umask 077
		if [ ! -f ca.pem ] || [ ! -f ca.key ]; then
			openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ca.key
			openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "$subj/CN=cqlwire devcluster CA" \
				-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
				-out ca.pem
			rm -f node*.pem node*.key client*.pem client.key
		fi
		# leaf NAME CN EXTENSIONS: NAME.key (PKCS#8) and NAME.pem signed by the CA
		leaf() {
			[ -f "$1.pem" ] && [ -f "$1.key" ] && return 0
			openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key"
			openssl req -new -key "$1.key" -subj "$subj/CN=$2" -out "$1.csr"
			printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "$3" >"$1.ext"
			openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
				-days 3650 -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
			rm -f "$1.csr" "$1.ext"
		}
		local n name addr
		for n in $(seq 1 "$1"); do
			name=$(node_tls_name "$n")
			addr=$(node_addr "$n")
			leaf "$name" "$addr" "subjectAltName=IP:$addr,DNS:localhost
extendedKeyUsage=serverAuth,clientAuth"
			# Cassandra's PEMBasedSslContextFactory keystore: private key + certificate chain.
			cat "$name.key" "$name.pem" ca.pem >"$name-keystore.pem"
		done
		leaf client cassandra "extendedKeyUsage=clientAuth"
		chmod 644 ca.pem node*.pem client.pem
	) &
	wait $! || die "openssl failed while making the certificates in $TLS_DIR"
}

# ---------------------------------------------------------------- nodes

# initial_token for node $1 of $2: evenly spaced over the Murmur3 range.
initial_token() {
	python3 -c 'import sys; i, n = int(sys.argv[1]), int(sys.argv[2]); print(-2**63 + (i - 1) * (2**64 // n))' "$1" "$2"
}

# pid_alive pid: true while any thread of the process has not exited. Not only the main
# thread: a JVM's main thread can be a zombie while its other threads still exit, and
# until the last one has, the process keeps its sockets (a start right after a stop then
# finds the node's ports taken). A zombie (not reaped: no init may be reaping here) is gone.
pid_alive() {
	[ -d "/proc/$1/task" ] || return 1
	# One awk, no pipe: under pipefail, `grep | grep -q` fails when -q stops reading early.
	awk '/^State:/ && $2 !~ /^[ZX]/ { alive = 1; exit } END { exit !alive }' "/proc/$1"/task/*/status 2>/dev/null
}

node_pid() { # prints the recorded pid of node $1 if that process is still our node
	local dir pid cmd
	dir=$(node_dir "$1")
	[ -f "$dir/pid" ] || return 1
	pid=$(cat "$dir/pid")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[ -r "/proc/$pid/cmdline" ] || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmd == *CassandraDaemon* && $cmd == *"$dir/conf/cassandra.yaml"* ]] || return 1
	echo "$pid"
}

recorded_nodes() { # node numbers that have a folder, ascending
	local d
	for d in "$RUN_DIR"/node*; do
		[ -d "$d" ] || continue
		echo "${d##*/node}"
	done | sort -n
}

running_nodes() {
	local n
	for n in $(recorded_nodes); do
		node_pid "$n" >/dev/null && echo "$n"
	done
	return 0
}

port_in_use() { # host port
	timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# write_node_config n count [bootstrap]: bootstrap=true only for add-node's first start.
write_node_config() { # n count [bootstrap]
	local n=$1 count=$2 bootstrap=${3:-false} dir addr token loc
	dir=$(node_dir "$n")
	addr=$(node_addr "$n")
	mkdir -p "$dir/conf" "$dir/logs" "$dir/data" "$dir/commitlog" "$dir/saved_caches" "$dir/hints" "$dir/cdc_raw" "$dir/triggers"
	# add-node records every node's token (the even spacing depends on the node count).
	if [ -f "$dir/token" ]; then token=$(cat "$dir/token"); else token=$(initial_token "$n" "$count"); fi
	sed -e "s|@INITIAL_TOKEN@|$token|" \
		-e "s|@NODE_DIR@|$dir|" \
		-e "s|@ADDRESS@|$addr|" \
		-e "s|@SEEDS@|$(seeds_of "$count")|" \
		-e "s|@TLS_KEYSTORE@|$TLS_DIR/$(node_tls_name "$n")-keystore.pem|" \
		-e "s|@TLS_TRUSTSTORE@|$TLS_DIR/ca.pem|" \
		-e "s|@REQUIRE_CLIENT_AUTH@|$CLIENT_AUTH|" \
		"$HERE/cassandra.yaml.in" >"$dir/conf/cassandra.yaml"
	if grep -q '@[A-Z_]*@' "$dir/conf/cassandra.yaml"; then
		die "unreplaced placeholder in $dir/conf/cassandra.yaml: $(grep -o '@[A-Z_]*@' "$dir/conf/cassandra.yaml" | head -1)"
	fi
	if [ "$bootstrap" = true ]; then
		sed -i 's/^auto_bootstrap: false$/auto_bootstrap: true/' "$dir/conf/cassandra.yaml"
	fi
	loc=$(node_location "$n")
	printf 'dc=%s\nrack=%s\n' "${loc%%:*}" "${loc#*:}" >"$dir/conf/cassandra-rackdc.properties"
}

module_opts() { # the --add-exports/--add-opens of conf/jvm17-server.options, one per line
	local m
	for m in java.base/jdk.internal.misc java.management.rmi/com.sun.jmx.remote.internal.rmi \
		java.management/com.sun.jmx.remote.security java.rmi/sun.rmi.registry java.rmi/sun.rmi.server \
		java.sql/java.sql java.base/java.lang.ref jdk.unsupported/sun.misc; do
		printf '%s\n' --add-exports "$m=ALL-UNNAMED"
	done
	for m in java.base/java.lang.module java.base/jdk.internal.loader java.base/jdk.internal.ref \
		java.base/jdk.internal.reflect java.base/jdk.internal.math java.base/jdk.internal.module \
		java.base/jdk.internal.util.jar jdk.management/com.sun.management.internal java.base/sun.nio.ch \
		java.base/java.io java.base/java.lang.reflect java.base/java.lang java.base/java.util \
		java.base/java.nio java.base/java.util.concurrent java.base/java.util.concurrent.atomic; do
		printf '%s\n' --add-opens "$m=ALL-UNNAMED"
	done
}

jvm_opts() { # n: prints one JVM argument per line
	local n=$1 dir jamm
	dir=$(node_dir "$n")
	jamm=$(compgen -G "$LIB_DIR/jamm-*.jar" | head -1) || jamm=""
	printf '%s\n' \
		"-Xms$HEAP" "-Xmx$HEAP" -Xss256k \
		-XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxGCPauseMillis=300 \
		-XX:+UseTLAB -XX:+ResizeTLAB -XX:+PerfDisableSharedMem \
		-XX:+ExitOnOutOfMemoryError "-XX:ErrorFile=$dir/logs/hs_err_%p.log" \
		-ea -da:net.openhft... \
		-Djava.net.preferIPv4Stack=true -Djdk.attach.allowAttachSelf=true \
		-Dchronicle.analytics.disable=true \
		-Dio.netty.tryReflectionSetAccessible=true \
		-Dio.netty.allocator.useCacheForAllThreads=true -Dio.netty.allocator.maxOrder=11
	module_opts
	[ -n "$jamm" ] && printf '%s\n' "-javaagent:$jamm"
	printf '%s\n' \
		-Dcassandra-foreground=yes \
		"-Dcassandra.config=file://$dir/conf/cassandra.yaml" \
		"-Dcassandra-rackdc.properties=file://$dir/conf/cassandra-rackdc.properties" \
		"-Dcassandra.storagedir=$dir" \
		"-Dcassandra.logdir=$dir/logs" \
		"-Dlogback.configurationFile=$HERE/logback.xml" \
		"-Dcassandra.triggers_dir=$dir/triggers" \
		"-Dcassandra.jmx.local.port=$(node_jmx_port "$n")" \
		-Dcassandra.skip_wait_for_gossip_to_settle=0 \
		-Dcassandra.ring_delay_ms=5000 \
		-Dcassandra.superuser_setup_delay_ms=1000 \
		-cp "$LIB_DIR/*" \
		org.apache.cassandra.service.CassandraDaemon
}

show_log_tail() { # n
	local dir
	dir=$(node_dir "$1")
	local f
	for f in "$dir/logs/stdout.log" "$dir/logs/system.log"; do
		[ -s "$f" ] || continue
		printf -- '---- last lines of %s ----\n' "$f" >&2
		tail -n 30 "$f" >&2
	done
}

# Called when a start fails: show why, then stop every node of this run dir
# (start-node: only the node it started; the others keep running).
ONLY_NODE=""
start_failed() { # n message
	log "error: $2"
	show_log_tail "$1"
	if [ -n "$ONLY_NODE" ]; then
		log "stopping node$ONLY_NODE"
		stop_node_quietly "$ONLY_NODE" >&2 || true
		exit 1
	fi
	log "stopping the nodes started so far"
	cmd_stop >&2 || true
	exit 1
}

launch_node() { # n
	local n=$1 dir addr port opts=() pid
	dir=$(node_dir "$n")
	addr=$(node_addr "$n")
	local deadline=$(($(date +%s) + 15))
	for port in "$CQL_PORT" "$STORAGE_PORT" "$(node_jmx_port "$n")"; do
		# A port of the node's previous process may take a moment to be released.
		while port_in_use "$addr" "$port" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.5; done
		if port_in_use "$addr" "$port"; then
			start_failed "$n" "port $port on $addr is already taken by another process (another Cassandra? check: ss -ltnp | grep :$port)"
		fi
	done
	mapfile -t opts < <(jvm_opts "$n")
	# Cassandra calls mlockall() at start. As root that succeeds and pins the whole heap
	# in RAM (slower start, ~1.4 GiB resident per node at once). Drop CAP_IPC_LOCK so the
	# call fails softly (a WARN in system.log), as it does for an ordinary user.
	local nolock=()
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
		nolock=(setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock)
	fi
	rm -f "$dir/pid"
	: >"$dir/logs/stdout.log"
	# setsid: its own session, so the node survives the shell and Ctrl-C. Its stdin/stdout/stderr
	# are redirected, so it holds no pipe of the caller open (make or CI logs end normally).
	(cd "$dir" && exec setsid "${nolock[@]}" "$JAVA" "${opts[@]}" </dev/null >>"$dir/logs/stdout.log" 2>&1) &
	pid=$!
	echo "$pid" >"$dir/pid"
}

wait_node() { # n t0: wait until node n accepts a CQL login
	local n=$1 t0=$2 dir addr deadline err version
	dir=$(node_dir "$n")
	addr=$(node_addr "$n")
	deadline=$(($(date +%s) + START_TIMEOUT))
	while :; do
		if ! pid_alive "$(cat "$dir/pid")"; then
			start_failed "$n" "node$n ($addr) exited during startup"
		fi
		if version=$(python3 "$HERE/cql.py" -H "$addr" -p "$CQL_PORT" --timeout 5 \
			"SELECT release_version FROM system.local" 2>"$dir/logs/login-attempt.err"); then
			break
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			err=$(cat "$dir/logs/login-attempt.err")
			start_failed "$n" "node$n ($addr) did not accept a CQL login within ${START_TIMEOUT}s (last attempt: $err)"
		fi
		sleep 1
	done
	rm -f "$dir/logs/login-attempt.err"
	log "node$n $addr:$CQL_PORT up (Cassandra $version, pid $(node_pid "$n")) in $(secs_since "$t0") s"
}

cql_node() { # n statement...
	local n=$1
	shift
	python3 "$HERE/cql.py" -H "$(node_addr "$n")" -p "$CQL_PORT" "$@"
}

nodetool_node() { # n args...
	local n=$1
	shift
	local opts=()
	find_java
	mkdir -p "$RUN_DIR/tools"
	mapfile -t opts < <(module_opts)
	# user.home: nodetool keeps its history in ~/.cassandra; keep it in the run dir.
	"$JAVA" -Xmx256m "${opts[@]}" -cp "$LIB_DIR/*" "-Duser.home=$RUN_DIR/tools" \
		"-Dcassandra.logdir=$RUN_DIR/tools" "-Dlogback.configurationFile=$HERE/logback.xml" \
		org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p "$(node_jmx_port "$n")" "$@"
}

# After N > 1 nodes are up: replicate system_auth to every node (so a login works
# whichever node answers), repair it, and check that each node sees the others.
setup_cluster() { # count
	local count=$1 rf n m peers deadline t0 repl entry
	t0=$(now_ms)
	rf=$((count < 3 ? count : 3))
	repl="'$DC': $rf"
	if [ -n "$(topo_get layout)" ]; then # per data centre: min(its nodes, 3)
		repl=""
		for entry in $(dc_counts | tr , ' '); do
			m=${entry#*:}
			repl+="${repl:+, }'${entry%:*}': $((m < 3 ? m : 3))"
		done
		rf="{$repl}"
	fi
	cql_node 1 "ALTER KEYSPACE system_auth WITH replication = {'class': 'NetworkTopologyStrategy', $repl}" ||
		start_failed 1 "ALTER KEYSPACE system_auth failed"
	mkdir -p "$RUN_DIR/tools"
	nodetool_node 1 repair --full system_auth >"$RUN_DIR/tools/repair.out" 2>&1 ||
		start_failed 1 "nodetool repair system_auth failed: $(tail -n 5 "$RUN_DIR/tools/repair.out")"
	deadline=$(($(date +%s) + 60))
	for n in $(seq 1 "$count"); do
		while :; do
			peers=$(cql_node "$n" -c QUORUM "SELECT peer FROM system.peers_v2" | sort -V | tr '\n' ' ') || peers="(query failed)"
			local want=""
			for m in $(seq 1 "$count"); do [ "$m" = "$n" ] || want+="$(node_addr "$m") "; done
			[ "$peers" = "$want" ] && break
			[ "$(date +%s)" -ge "$deadline" ] && start_failed "$n" "node$n lists peers [$peers], want [$want]"
			sleep 1
		done
		log "node$n peers_v2: $peers"
	done
	log "system_auth replicated to RF $rf and repaired; every node sees its peers ($(secs_since "$t0") s)"
}

write_env() { # count
	local count=$1 hosts="" n dc=$DC
	for n in $(seq 1 "$count"); do
		node_left "$n" || hosts+="${hosts:+,}$(node_addr "$n")"
	done
	local first
	first=$(active_nodes | sed -n 1p)
	[ -n "$(topo_get layout)" ] && [ -n "$first" ] && dc=$(node_location "$first" | cut -d: -f1)
	local -a vars=(
		"CQLWIRE_HOSTS=$hosts"
		"CQLWIRE_PORT=$CQL_PORT"
		"CQLWIRE_USERNAME=cassandra"
		"CQLWIRE_PASSWORD=cassandra"
		"CQLWIRE_TLS_CA=$TLS_DIR/ca.pem"
		"CQLWIRE_TLS_CERT=$TLS_DIR/client.pem"
		"CQLWIRE_TLS_KEY=$TLS_DIR/client.key"
		"CQLWIRE_TLS_CLIENT_AUTH=$CLIENT_AUTH"
		"CQLWIRE_DC=$dc"
		"CQLWIRE_CASSANDRA_VERSION=$CASSANDRA_VERSION"
	)
	# Only for layouts (start --layout, add-node): DC:RACK of each active node, nodes per DC.
	if [ -n "$(topo_get layout)" ]; then
		local layout=""
		for n in $(active_nodes); do layout+="${layout:+,}$(node_location "$n")"; done
		vars+=("CQLWIRE_LAYOUT=$layout" "CQLWIRE_DCS=$(dc_counts)")
	fi
	local v
	{
		echo "# written by devcluster/cluster.sh start; removed by stop"
		for v in "${vars[@]}"; do printf 'export %s=%q\n' "${v%%=*}" "${v#*=}"; done
	} >"$RUN_DIR/env.sh"
	{
		echo "# written by devcluster/cluster.sh start; removed by stop; included by the Makefile"
		for v in "${vars[@]}"; do printf 'export %s ?= %s\n' "${v%%=*}" "${v#*=}"; done
	} >"$RUN_DIR/env.mk"
}

# ---------------------------------------------------------------- commands

cmd_start() {
	local count="" running prev="" n t0 tn layout=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--mtls) CLIENT_AUTH=true ;;
		--layout)
			[ $# -ge 2 ] || die "--layout needs a value, e.g. --layout dc1:2,dc2:1"
			layout=$(parse_layout "$2")
			shift
			;;
		--layout=*) layout=$(parse_layout "${1#--layout=}") ;;
		*) count=$1 ;;
		esac
		shift
	done
	if [ -n "$layout" ]; then
		local lcount
		lcount=$(echo "$layout" | tr , '\n' | wc -l)
		[ -z "$count" ] || [ "$count" = "$lcount" ] || die "node count $count does not match the layout's $lcount nodes ($layout)"
		count=$lcount
	fi
	count=${count:-1}
	[[ $count =~ ^[1-9]$ ]] && [ "$count" -le "$MAX_NODES" ] || die "node count must be 1..$MAX_NODES, not '$count'"
	find_java
	need python3 "waiting for the nodes (devcluster/cql.py)"
	need setsid "starting the nodes in the background"
	cmd_fetch
	mkdir -p "$RUN_DIR"
	[ -f "$RUN_DIR/topology" ] && prev=$(tr '\n' ' ' <"$RUN_DIR/topology")
	local want="nodes=$count client_auth=$CLIENT_AUTH version=$CASSANDRA_VERSION ${layout:+layout=$layout }"
	running=$(running_nodes | tr '\n' ' ')

	if [ -n "$running" ]; then
		if [ "$prev" = "$want" ] && [ "$running" = "$(seq -s ' ' 1 "$count") " ]; then
			log "already running: $count node(s) ($running)"
			write_env "$count"
			return 0
		fi
		log "running nodes [${running% }] are not the requested set (${want% }); stopping them first"
		cmd_stop
	fi
	# The same shape (all but client_auth: node count, version, layout, no node added or
	# removed since): reuse the data.
	if [ "${prev/client_auth=* version=/version=}" != "${want/client_auth=* version=/version=}" ] &&
		[ -n "$(recorded_nodes)" ]; then
		local shown=${prev% }
		log "existing data is from a different set-up (${shown:-unknown}); deleting node data"
		rm -rf "$RUN_DIR"/node* "$RUN_DIR/topology"
	fi
	# Nodes beyond the requested count (from an earlier, larger cluster) would be stale peers.
	for n in $(recorded_nodes); do [ "$n" -le "$count" ] || rm -rf "$(node_dir "$n")"; done
	# Recorded before any node runs, so that data left by a failed start is judged correctly.
	printf 'nodes=%s\nclient_auth=%s\nversion=%s\n' "$count" "$CLIENT_AUTH" "$CASSANDRA_VERSION" >"$RUN_DIR/topology"
	[ -z "$layout" ] || printf 'layout=%s\n' "$layout" >>"$RUN_DIR/topology"

	ensure_tls "$count"
	t0=$(now_ms)
	for n in $(seq 1 "$count"); do
		write_node_config "$n" "$count"
		tn=$(now_ms)
		launch_node "$n"
		wait_node "$n" "$tn"
	done
	[ "$count" -gt 1 ] && setup_cluster "$count"
	write_env "$count"
	log "$count node(s) ready in $(secs_since "$t0") s; environment: devcluster/cluster.sh env (or: make cassandra-env)"
}

cmd_stop() {
	local n pid pids=() nodes=() deadline left
	for n in $(recorded_nodes); do
		if pid=$(node_pid "$n"); then
			kill -TERM "$pid" 2>/dev/null || true
			kill -CONT "$pid" 2>/dev/null || true # a frozen node (freeze-node) must run to exit
			pids+=("$pid")
			nodes+=("$n")
		fi
		rm -f "$(node_dir "$n")/pid"
	done
	rm -f "$RUN_DIR/env.sh" "$RUN_DIR/env.mk"
	if [ ${#pids[@]} -eq 0 ]; then
		log "no node running"
		return 0
	fi
	log "stopping node(s) ${nodes[*]} (pids ${pids[*]})"
	deadline=$(($(date +%s) + STOP_TIMEOUT))
	while :; do
		left=()
		for pid in "${pids[@]}"; do
			pid_alive "$pid" && left+=("$pid")
		done
		[ ${#left[@]} -eq 0 ] && break
		if [ "$(date +%s)" -ge "$deadline" ]; then
			log "still running after ${STOP_TIMEOUT}s: ${left[*]}; sending SIGKILL"
			kill -KILL "${left[@]}" 2>/dev/null || true
			sleep 2
			for pid in "${left[@]}"; do
				pid_alive "$pid" && die "pid $pid survived SIGKILL"
			done
			break
		fi
		sleep 0.5
	done
	log "stopped"
}

# stop_node_quietly n: SIGTERM to node n's recorded pid, wait for it to exit (SIGKILL
# after STOP_TIMEOUT), forget the pid. Returns 1 if node n is not running.
stop_node_quietly() { # n
	local n=$1 pid deadline
	pid=$(node_pid "$n") || return 1
	kill -TERM "$pid" 2>/dev/null || true
	kill -CONT "$pid" 2>/dev/null || true # a frozen node (freeze-node) must run to exit
	deadline=$(($(date +%s) + STOP_TIMEOUT))
	while pid_alive "$pid"; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			log "node$n (pid $pid) still running after ${STOP_TIMEOUT}s; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 2
			pid_alive "$pid" && die "pid $pid survived SIGKILL"
			break
		fi
		sleep 0.2
	done
	rm -f "$(node_dir "$n")/pid"
}

node_number() { # arg: validates a node number of the recorded set-up, prints it
	[[ ${1:-} =~ ^[1-9]$ ]] || die "a node number 1..$MAX_NODES is required, not '${1:-}'"
	[ -d "$(node_dir "$1")" ] || die "node$1 has no folder in $RUN_DIR (start the nodes first: make cassandra-cluster)"
	echo "$1"
}

cmd_stop_node() { # n
	local n t0 pid
	n=$(node_number "${1:-}")
	pid=$(node_pid "$n") || die "node$n ($(node_addr "$n")) is not running"
	t0=$(now_ms)
	log "stopping node$n $(node_addr "$n") (pid $pid)"
	stop_node_quietly "$n"
	log "node$n stopped in $(secs_since "$t0") s (data kept; start it again: cluster.sh start-node $n)"
}

cmd_start_node() { # n [--address 127.0.0.M]
	local n t0 count pid address="" old_addr m
	n=$(node_number "${1:-}")
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--address)
			[ $# -ge 2 ] || die "--address needs a value, e.g. --address 127.0.0.13"
			address=$2
			shift
			;;
		--address=*) address=${1#--address=} ;;
		*) die "start-node: unknown argument '$1'" ;;
		esac
		shift
	done
	[ -f "$RUN_DIR/topology" ] || die "no recorded set-up in $RUN_DIR/topology (start the nodes first: make cassandra-cluster)"
	node_left "$n" && die "node$n has left the ring (decommission-node/removenode); it cannot be started again"
	count=$(sed -n 's/^nodes=//p' "$RUN_DIR/topology")
	[[ $count =~ ^[1-9]$ ]] && [ "$n" -le "$count" ] || die "node$n is not part of the recorded set-up (nodes=$count)"
	[ "$(sed -n 's/^version=//p' "$RUN_DIR/topology")" = "$CASSANDRA_VERSION" ] ||
		die "node$n's data is from another Cassandra version; restart the whole set-up (make cassandra-cluster)"
	CLIENT_AUTH=$(sed -n 's/^client_auth=//p' "$RUN_DIR/topology")
	[ "$CLIENT_AUTH" = true ] || CLIENT_AUTH=false
	old_addr=$(node_addr "$n")
	if [ -n "$address" ] && [ "$address" != "$old_addr" ]; then
		[[ $address =~ ^127\.0\.0\.([0-9]{1,3})$ ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] && [ "${BASH_REMATCH[1]}" -le 254 ] ||
			die "--address must be a loopback address 127.0.0.1..127.0.0.254, not '$address'"
		pid=$(node_pid "$n") && die "node$n runs (pid $pid) on $old_addr; stop it first (cluster.sh stop-node $n)"
		for m in $(recorded_nodes); do
			[ "$m" != "$n" ] && [ "$(node_addr "$m")" = "$address" ] && die "$address is node$m's address"
		done
		# The same node (same data, same host_id) on a new address: its yaml gets the new
		# listen/rpc (= broadcast) address; peers learn it by gossip (no replace_address).
		if [ "$address" = "$(node_default_addr "$n")" ]; then
			rm -f "$(node_dir "$n")/address"
		else
			echo "$address" >"$(node_dir "$n")/address"
		fi
		log "node$n moves from $old_addr to $address"
	else
		address=""
	fi
	if pid=$(node_pid "$n"); then
		log "node$n $(node_addr "$n") already running (pid $pid)"
		return 0
	fi
	find_java
	need python3 "waiting for the node (devcluster/cql.py)"
	need setsid "starting the node in the background"
	cmd_fetch
	ensure_tls "$count"
	ONLY_NODE=$n
	write_node_config "$n" "$count"
	t0=$(now_ms)
	launch_node "$n"
	wait_node "$n" "$t0"
	ONLY_NODE=""
	if [ -n "$address" ]; then
		wait_peers_see_move "$n" "$old_addr" "$address"
		write_env "$count"
	fi
}

# other_live_node n: a running, active node other than n (for nodetool/CQL checks).
other_live_node() {
	local m
	for m in $(active_nodes); do
		[ "$m" != "$1" ] && node_pid "$m" >/dev/null && echo "$m" && return 0
	done
	return 1
}

# wait_peers_see_move n old new: every other running node lists new, not old, in peers_v2.
wait_peers_see_move() {
	local n=$1 old=$2 new=$3 m peers deadline t0
	t0=$(now_ms)
	deadline=$(($(date +%s) + 60))
	for m in $(active_nodes); do
		[ "$m" != "$n" ] && node_pid "$m" >/dev/null || continue
		while :; do
			peers=" $(cql_node "$m" "SELECT peer FROM system.peers_v2" 2>/dev/null | tr '\n' ' ')"
			[[ $peers == *" $new "* && $peers != *" $old "* ]] && break
			[ "$(date +%s)" -ge "$deadline" ] && die "node$m still lists peers [$peers] 60 s after node$n moved from $old to $new"
			sleep 1
		done
	done
	log "node$n is known at $new (not $old) by every running node ($(secs_since "$t0") s)"
}

# status_line m addr: node m's `nodetool status` line for addr (empty if none).
status_line() {
	nodetool_node "$1" status 2>/dev/null | awk -v a="$2" '$2 == a { print; exit }'
}

# largest_gap_midpoint TOKEN...: the middle of the widest gap between ring neighbours.
largest_gap_midpoint() {
	python3 -c '
import sys
t = sorted(int(x) for x in sys.argv[1:])
best, mid = -1, None
for i, a in enumerate(t):
    b = t[(i + 1) % len(t)] + (2**64 if i + 1 == len(t) else 0)
    if b - a > best:
        best, mid = b - a, a + (b - a) // 2
if mid >= 2**63:
    mid -= 2**64
print(mid)' "$@"
}

cmd_add_node() { # [--dc DC] [--rack RACK]
	local dc="" rack="" count n m t0 tokens=() layout="" addr live
	while [ $# -gt 0 ]; do
		case "$1" in
		--dc | --rack)
			[ $# -ge 2 ] || die "$1 needs a value"
			[[ $2 =~ ^[A-Za-z0-9_.-]+$ ]] || die "$1 '$2': letters, digits, '_', '.', '-' only"
			if [ "$1" = --dc ]; then dc=$2; else rack=$2; fi
			shift
			;;
		*) die "add-node: unknown argument '$1' (--dc DC, --rack RACK)" ;;
		esac
		shift
	done
	[ -f "$RUN_DIR/topology" ] || die "no recorded set-up in $RUN_DIR/topology (start the nodes first)"
	live=$(other_live_node 0) || die "no node of the recorded set-up is running; start them first"
	count=$(topo_get nodes)
	n=$((count + 1))
	[ "$n" -le "$MAX_NODES" ] || die "the set-up already has $count nodes (at most $MAX_NODES)"
	CLIENT_AUTH=$(topo_get client_auth)
	[ "$CLIENT_AUTH" = true ] || CLIENT_AUTH=false
	[ -n "$dc" ] || dc=$(node_location "$live" | cut -d: -f1)
	[ -n "$rack" ] || rack=rack1
	find_java
	need python3 "waiting for the node (devcluster/cql.py)"
	need setsid "starting the node in the background"
	cmd_fetch
	# Freeze the tokens of the existing nodes (the even spacing depends on the count).
	for m in $(seq 1 "$count"); do
		[ -f "$(node_dir "$m")/token" ] || initial_token "$m" "$count" >"$(node_dir "$m")/token"
		node_left "$m" || tokens+=("$(cat "$(node_dir "$m")/token")")
		layout+="${layout:+,}$(node_location "$m")"
	done
	rm -rf "$(node_dir "$n")"
	mkdir -p "$(node_dir "$n")"
	largest_gap_midpoint "${tokens[@]}" >"$(node_dir "$n")/token"
	layout+=",$dc:$rack"
	sed -i -e "s/^nodes=.*/nodes=$n/" -e '/^layout=/d' "$RUN_DIR/topology"
	echo "layout=$layout" >>"$RUN_DIR/topology"
	echo "added=$n" >>"$RUN_DIR/topology"
	addr=$(node_addr "$n")
	ensure_tls "$n"
	ONLY_NODE=$n
	write_node_config "$n" "$n" true
	log "adding node$n $addr ($dc:$rack, token $(cat "$(node_dir "$n")/token")): bootstrapping into the ring"
	t0=$(now_ms)
	launch_node "$n"
	wait_node "$n" "$t0"
	local deadline=$(($(date +%s) + START_TIMEOUT)) line
	until line=$(status_line "$live" "$addr") && [[ $line == UN* ]]; do
		[ "$(date +%s)" -ge "$deadline" ] && start_failed "$n" "node$n is not UN in node$live's nodetool status within ${START_TIMEOUT}s: ${line:-not listed}"
		sleep 1
	done
	ONLY_NODE=""
	write_env "$n"
	log "node$n $addr joined: UN in node$live's status, serves CQL; $(secs_since "$t0") s"
}

# wait_gone m addr: until addr is no longer in node m's nodetool status.
wait_gone() {
	local m=$1 addr=$2 deadline
	deadline=$(($(date +%s) + 120))
	while [ -n "$(status_line "$m" "$addr")" ]; do
		[ "$(date +%s)" -ge "$deadline" ] && die "$addr is still in node$m's nodetool status after 120 s"
		sleep 1
	done
}

mark_left() { # n how
	touch "$(node_dir "$1")/left"
	echo "left=$1" >>"$RUN_DIR/topology"
	write_env "$(topo_get nodes)"
}

cmd_decommission_node() { # n
	local n t0 live addr out
	n=$(node_number "${1:-}")
	node_left "$n" && die "node$n has already left the ring"
	node_pid "$n" >/dev/null || die "node$n ($(node_addr "$n")) is not running (decommission needs it; a dead node: cluster.sh removenode $n)"
	live=$(other_live_node "$n") || die "no other node is running"
	addr=$(node_addr "$n")
	t0=$(now_ms)
	log "decommissioning node$n $addr (streams its data to the others)"
	mkdir -p "$RUN_DIR/tools"
	# --force: allow it when a keyspace's RF exceeds the nodes left in the DC (dev cluster).
	if ! out=$(nodetool_node "$n" decommission --force 2>&1); then
		die "nodetool decommission on node$n failed: $out"
	fi
	stop_node_quietly "$n" || true
	wait_gone "$live" "$addr"
	mark_left "$n"
	log "node$n $addr decommissioned and stopped in $(secs_since "$t0") s"
}

cmd_removenode() { # n
	local n t0 live addr host_id out line deadline
	n=$(node_number "${1:-}")
	node_left "$n" && die "node$n has already left the ring"
	live=$(other_live_node "$n") || die "no other node is running"
	addr=$(node_addr "$n")
	host_id=$(cql_node "$live" "SELECT host_id FROM system.peers_v2 WHERE peer = '$addr'" | sed -n 1p)
	[ -n "$host_id" ] || die "node$live does not list $addr in system.peers_v2"
	t0=$(now_ms)
	if node_pid "$n" >/dev/null; then
		log "stopping node$n $addr first (removenode needs a dead node)"
		stop_node_quietly "$n"
	fi
	deadline=$(($(date +%s) + 60))
	until line=$(status_line "$live" "$addr") && [[ $line == DN* ]]; do
		[ "$(date +%s)" -ge "$deadline" ] && die "node$live does not see node$n as DN: ${line:-not listed}"
		sleep 1
	done
	log "removing node$n $addr (host_id $host_id) via node$live"
	if ! out=$(nodetool_node "$live" removenode "$host_id" 2>&1); then
		die "nodetool removenode $host_id on node$live failed: $out"
	fi
	wait_gone "$live" "$addr"
	mark_left "$n"
	log "node$n $addr removed in $(secs_since "$t0") s"
}

pid_state() { # pid: the one-letter state of /proc/<pid>/status (R, S, T, Z, ...)
	sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null
}

# kill-node, freeze-node and thaw-node signal only node N's recorded pid, after the
# same /proc/<pid>/cmdline check as stop (node_pid); they fail if node N is not running.
cmd_kill_node() { # n
	local n pid deadline
	n=$(node_number "${1:-}")
	pid=$(node_pid "$n") || die "node$n ($(node_addr "$n")) is not running"
	log "killing node$n $(node_addr "$n") (pid $pid, SIGKILL)"
	kill -KILL "$pid"
	deadline=$(($(date +%s) + 10))
	while pid_alive "$pid"; do
		[ "$(date +%s)" -ge "$deadline" ] && die "node$n (pid $pid) survived SIGKILL for 10 s"
		sleep 0.1
	done
	rm -f "$(node_dir "$n")/pid"
	log "node$n killed (data kept; start it again: cluster.sh start-node $n)"
}

cmd_freeze_node() { # n
	local n pid deadline
	n=$(node_number "${1:-}")
	pid=$(node_pid "$n") || die "node$n ($(node_addr "$n")) is not running"
	kill -STOP "$pid"
	# SIGSTOP takes effect asynchronously: wait until every thread is stopped.
	deadline=$(($(date +%s) + 10))
	until [ "$(pid_state "$pid")" = T ]; do
		[ "$(date +%s)" -ge "$deadline" ] && die "node$n (pid $pid) not stopped 10 s after SIGSTOP"
		sleep 0.05
	done
	log "node$n $(node_addr "$n") frozen (pid $pid, SIGSTOP; resume it: cluster.sh thaw-node $n)"
}

cmd_thaw_node() { # n
	local n pid
	n=$(node_number "${1:-}")
	pid=$(node_pid "$n") || die "node$n ($(node_addr "$n")) is not running"
	kill -CONT "$pid"
	log "node$n $(node_addr "$n") thawed (pid $pid, SIGCONT)"
}

cmd_clean() {
	cmd_stop
	if [ -d "$RUN_DIR" ]; then
		rm -rf "$RUN_DIR"
		log "deleted $RUN_DIR"
	fi
}

cmd_status() {
	local n pid rss any=0
	echo "Cassandra $CASSANDRA_VERSION, jars: $LIB_DIR ($([ -f "$MARKER" ] && echo cached || echo 'not fetched yet'))"
	echo "run dir: $RUN_DIR"
	for n in $(recorded_nodes); do
		any=1
		if pid=$(node_pid "$n"); then
			rss=$(awk '/^VmRSS:/ {printf "%d MiB", $2 / 1024}' "/proc/$pid/status")
			local state=running
			[ "$(pid_state "$pid")" = T ] && state=frozen
			printf 'node%s  %s:%s  %s  pid %s  rss %s\n' "$n" "$(node_addr "$n")" "$CQL_PORT" "$state" "$pid" "$rss"
		else
			printf 'node%s  %s:%s  stopped\n' "$n" "$(node_addr "$n")" "$CQL_PORT"
		fi
	done
	[ "$any" = 1 ] || echo "no node folders (start one: make cassandra)"
}

cmd_env() {
	if [ -z "$(running_nodes)" ] || [ ! -f "$RUN_DIR/env.sh" ]; then
		die "no node running (start one: make cassandra)"
	fi
	grep '^export ' "$RUN_DIR/env.sh"
}

node_arg() { # prints $1 if it is a node number, else 1
	if [[ ${1:-} =~ ^[1-9]$ ]]; then
		echo "$1"
	else
		echo 1
	fi
}

main() {
	local cmd=${1:-help}
	shift || true
	case "$cmd" in
	start) cmd_start "$@" ;;
	stop) cmd_stop ;;
	stop-node) cmd_stop_node "$@" ;;
	start-node) cmd_start_node "$@" ;;
	add-node) cmd_add_node "$@" ;;
	decommission-node) cmd_decommission_node "$@" ;;
	removenode) cmd_removenode "$@" ;;
	kill-node) cmd_kill_node "$@" ;;
	freeze-node) cmd_freeze_node "$@" ;;
	thaw-node) cmd_thaw_node "$@" ;;
	clean) cmd_clean ;;
	status) cmd_status ;;
	env) cmd_env ;;
	fetch) cmd_fetch ;;
	java)
		find_java
		echo "$JAVA"
		"$JAVA" -version 2>&1 | head -1
		;;
	logs)
		local n
		n=$(node_arg "${1:-}")
		tail -n 50 "$(node_dir "$n")/logs/system.log"
		;;
	cql)
		local n
		n=$(node_arg "${1:-}")
		[[ ${1:-} =~ ^[1-9]$ ]] && shift
		cql_node "$n" "$@"
		;;
	nodetool)
		local n
		n=$(node_arg "${1:-}")
		[[ ${1:-} =~ ^[1-9]$ ]] && shift
		nodetool_node "$n" "$@"
		;;
	help | -h | --help) usage ;;
	*)
		usage >&2
		exit 2
		;;
	esac
}

main "$@"
