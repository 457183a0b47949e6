module github.com/cqlwire/cqlwire/tools

go 1.26.8

require (
	github.com/apache/cassandra-gocql-driver/v2 v2.1.2
	github.com/cqlwire/cqlwire v0.0.0
	github.com/datastax/go-cassandra-native-protocol v0.0.0-20240626123646-2abea740da8d
	github.com/pierrec/lz4/v4 v4.1.33
	golang.org/x/image v0.48.0
)

require (
	github.com/golang/snappy v1.0.0 // indirect
	github.com/hashicorp/go-uuid v1.0.3 // indirect
	github.com/jcmturner/aescts/v2 v2.0.0 // indirect
	github.com/jcmturner/dnsutils/v2 v2.0.0 // indirect
	github.com/jcmturner/gofork v1.7.6 // indirect
	github.com/jcmturner/gokrb5/v8 v8.4.4 // indirect
	github.com/jcmturner/rpc/v2 v2.0.3 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/net v0.63.0 // indirect
	gopkg.in/inf.v0 v0.9.1 // indirect
)

replace github.com/cqlwire/cqlwire => ../
