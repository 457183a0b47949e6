package cqlotel_test

import (
	"context"
	"log"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/cqlwire/cqlwire/cluster"
	cqlotel "github.com/cqlwire/cqlwire/otel"
)

// A session traced with the global TracerProvider (configured elsewhere,
// e.g. with an OTLP exporter) and its metrics served to Prometheus on
// /metrics.
func ExampleNew() {
	ctx := context.Background()
	exporter, err := otelprom.New() // registers with prometheus.DefaultRegisterer
	if err != nil {
		log.Fatal(err)
	}
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer meters.Shutdown(ctx)

	tel, err := cqlotel.New(cqlotel.Config{
		TracerProvider: otel.GetTracerProvider(),
		MeterProvider:  meters,
	})
	if err != nil {
		log.Fatal(err)
	}
	session, err := cluster.Connect(ctx, cluster.Config{
		ContactPoints: []string{"10.0.0.1", "10.0.0.2"},
		Keyspace:      "shop",
		Observer:      tel, // a span per statement, db.client.operation.duration
	})
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()
	// Session.Metrics as observable instruments, labelled with a session
	// name.
	reg, err := tel.ObserveSession(session, attribute.String("cassandra.session.name", "shop"))
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Unregister()

	http.Handle("/metrics", promhttp.Handler())
	log.Fatal(http.ListenAndServe(":9464", nil))
}
