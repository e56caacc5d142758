package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are what GET /metrics reports, in a registry of the Server's own.
type metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	batchSize *prometheus.HistogramVec
	inFlight  prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vae_http_requests_total",
			Help: "HTTP requests answered, by handler, method and status code.",
		}, []string{"handler", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vae_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its response, by handler.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18), // 0.1 ms … 13 s
		}, []string{"handler"}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vae_batch_size",
			Help:    "Rows (inputs, latents or samples) per accepted request, by handler.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11), // 1 … 1024
		}, []string{"handler"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vae_http_requests_in_flight",
			Help: "Requests being answered now.",
		}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.batchSize, m.inFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// instrument counts and times the requests h answers under the label handler.
func (m *metrics) instrument(handler string, h http.Handler) http.Handler {
	l := prometheus.Labels{"handler": handler}
	h = promhttp.InstrumentHandlerCounter(m.requests.MustCurryWith(l), h)
	h = promhttp.InstrumentHandlerDuration(m.latency.MustCurryWith(l), h)
	return promhttp.InstrumentHandlerInFlight(m.inFlight, h)
}

// batch records the batch size of an accepted request.
func (m *metrics) batch(handler string, n int) {
	m.batchSize.WithLabelValues(handler).Observe(float64(n))
}
