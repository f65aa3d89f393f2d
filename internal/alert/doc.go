// Package alert turns the changes a watch run finds into messages for
// people and machines, and makes sure each one arrives.
//
// An Alert is one change (a finding opened or resolved, a name or
// nameserver added, an outage, ...) with a stable ID chosen by the caller.
// Rules route alerts to named sinks: a generic webhook (JSON, HMAC-signed),
// Slack- and Mattermost-compatible webhooks, email over SMTP, syslog
// (RFC 5424) and NDJSON on a writer. A Config (JSON) declares both and is
// validated with errors that name the offending field.
//
// A Dispatcher owns delivery. Enqueue writes alerts to an on-disk spool
// (fsync, atomic rename) before it returns; one worker per sink delivers
// them with retries and exponential backoff, and forgets an alert only
// once the sink has taken it, so delivery is at least once across crashes
// and restarts. Each sink remembers the IDs it was given (for
// Options.DedupeAge, 30 days by default), so an alert enqueued twice, or
// again after a restart, is sent once. When more than
// Options.DigestThreshold alerts wait for one sink they go as one digest.
// docs/alerts.md is the user's reference.
//
// The package does not decide what is an alert (the watch run compares
// scans), does not schedule anything and does not store history.
package alert
