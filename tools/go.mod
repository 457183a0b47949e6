module github.com/cqlwire/cqlwire/tools

go 1.26.8

require (
	github.com/cqlwire/cqlwire v0.0.0
	github.com/datastax/go-cassandra-native-protocol v0.0.0-20240626123646-2abea740da8d
	github.com/pierrec/lz4/v4 v4.1.33
)

require github.com/golang/snappy v1.0.0 // indirect

replace github.com/cqlwire/cqlwire => ../
