module github.com/cqlwire/cqlwire/tools

go 1.26.8

require github.com/cqlwire/cqlwire v0.0.0

replace github.com/cqlwire/cqlwire => ../
