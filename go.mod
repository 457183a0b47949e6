module github.com/cqlwire/cqlwire

go 1.26.8
