// Package pcap reads packet captures (classic pcap and pcapng, as written by
// tcpdump and tshark) and reassembles the TCP byte streams in them, so that
// captured Cassandra native-protocol traffic can be split into frames.
//
// It handles only what loopback captures of CQL traffic need: Ethernet,
// Linux cooked (SLL, SLL2), BSD loopback and raw IP link types; IPv4 and
// IPv6; TCP with retransmissions and reordering. It must not import the
// driver's network layers (conn, pool, cluster).
package pcap
