package http

import (
	"context"
	"net/http"
	"time"

	"github.com/pressluft/pressluft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	m, err := s.Metrics.Metrics(r.Context())
	s.reply(w, r, http.StatusOK, m, err)
}

func (s *Server) handlePrometheus(w http.ResponseWriter, r *http.Request) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), &metricsCollector{ctx: r.Context(), m: s.Metrics})
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: nil}).ServeHTTP(w, r)
}

var (
	jobsDesc  = prometheus.NewDesc("pressluft_jobs", "Jobs by status.", []string{"status"}, nil)
	typesDesc = prometheus.NewDesc("pressluft_jobs_by_type", "Jobs by type.", []string{"type"}, nil)
	nodesDesc = prometheus.NewDesc("pressluft_nodes", "Nodes by status.", []string{"status"}, nil)
	sitesDesc = prometheus.NewDesc("pressluft_sites", "Sites.", nil, nil)
	envsDesc  = prometheus.NewDesc("pressluft_environments", "Environments.", nil, nil)
)

// metricsCollector reads the counters from the store at scrape time, so
// that every control-plane process reports the same numbers.
type metricsCollector struct {
	ctx context.Context
	m   pressluft.MetricsService
}

func (c *metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{jobsDesc, typesDesc, nodesDesc, sitesDesc, envsDesc} {
		ch <- d
	}
}

func (c *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	m, err := c.m.Metrics(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
		return
	}
	for k, v := range m.Jobs {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(v), k)
	}
	for k, v := range m.JobsByType {
		ch <- prometheus.MustNewConstMetric(typesDesc, prometheus.GaugeValue, float64(v), k)
	}
	for k, v := range m.Nodes {
		ch <- prometheus.MustNewConstMetric(nodesDesc, prometheus.GaugeValue, float64(v), k)
	}
	ch <- prometheus.MustNewConstMetric(sitesDesc, prometheus.GaugeValue, float64(m.SitesTotal))
	ch <- prometheus.MustNewConstMetric(envsDesc, prometheus.GaugeValue, float64(m.EnvsTotal))
}
