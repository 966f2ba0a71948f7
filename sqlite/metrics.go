package sqlite

import (
	"context"

	"github.com/pressluft/pressluft"
)

// MetricsService implements pressluft.MetricsService.
type MetricsService struct{ db *DB }

// NewMetricsService returns a MetricsService.
func NewMetricsService(db *DB) *MetricsService { return &MetricsService{db: db} }

// Metrics counts jobs, nodes and sites.
func (s *MetricsService) Metrics(ctx context.Context) (*pressluft.Metrics, error) {
	m := &pressluft.Metrics{
		Jobs:       map[string]int{pressluft.JobQueued: 0, pressluft.JobRunning: 0, pressluft.JobSucceeded: 0, pressluft.JobFailed: 0, pressluft.JobCancelled: 0},
		JobsByType: map[string]int{},
		Nodes:      map[string]int{},
	}
	for query, into := range map[string]map[string]int{
		`SELECT status, COUNT(*) FROM jobs GROUP BY status`:  m.Jobs,
		`SELECT type, COUNT(*) FROM jobs GROUP BY type`:      m.JobsByType,
		`SELECT status, COUNT(*) FROM nodes GROUP BY status`: m.Nodes,
	} {
		rows, err := s.db.read.QueryContext(ctx, query)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return nil, err
			}
			into[k] = n
		}
		rows.Close()
	}
	if err := s.db.read.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM sites), (SELECT COUNT(*) FROM environments)`).
		Scan(&m.SitesTotal, &m.EnvsTotal); err != nil {
		return nil, err
	}
	return m, nil
}
