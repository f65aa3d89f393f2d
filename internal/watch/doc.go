// Package watch runs continuous exposure monitoring: it scans a set of
// domains on a schedule, turns each scan into a history.Snapshot, moves
// the domain's history one step (history.Advance), records the step in
// the store (store.History) and hands the changes to the alert
// dispatcher.
//
// It owns the watch configuration (domains, per-domain intervals, the
// alerting block of package alert), the scheduler (the next due time of a
// domain is derived from its newest scan in the store, so a restart
// resumes the schedule; a missed run runs once at start; a failed domain
// is retried with backoff and reported), the mapping from history events
// to alerts (one alert per change, with IDs stable across restarts), and
// its Prometheus metrics.
//
// It also follows the domains managed through the API (Options.Managed,
// the store's watched-domain list), read at each scheduler tick.
//
// It does not scan (a Runner does: Inventory makes each period's due
// domains one inventory run, package inventory), store (package store),
// decide what changed (package history) or deliver (package alert).
package watch

import "errors"

// Errors of package watch.
var (
	// ErrConfig: a watch configuration is invalid; the message names the
	// field.
	ErrConfig = errors.New("watch: bad config")
	// ErrOptions: an Options field is invalid.
	ErrOptions = errors.New("watch: bad options")
	// ErrScan: a domain's scan failed (it is retried with backoff).
	ErrScan = errors.New("watch: scan failed")
)
