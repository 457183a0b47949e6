// Package workload defines what the cqlbench harness asks of a server: the
// keyspace and tables, the prepared statements of each workload with the
// types of their bind markers and result columns, and the data the tables
// hold, as pure functions of a key.
//
// Both sides use it: the drivers bind values and check every answer against
// these functions, the in-process answering server builds its canned answers
// from them, and the real node is seeded with them. An answer that does not
// match (a wrong value, a missing row, a short page) fails the operation, so
// a driver that gets or reads a wrong answer cannot look fast.
package workload
