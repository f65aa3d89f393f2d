package alert

import "errors"

// Errors of package alert.
var (
	// ErrConfig: a Config is invalid; the message names the field.
	ErrConfig = errors.New("alert: bad config")
	// ErrOptions: an Options field is invalid.
	ErrOptions = errors.New("alert: bad options")
	// ErrInvalidAlert: Enqueue was given an alert without a usable ID,
	// time, domain or kind, or one too large to spool.
	ErrInvalidAlert = errors.New("alert: invalid alert")
	// ErrSpoolFull: the spool reached Options.SpoolBytes; the alerts that
	// did not fit were dropped (and counted) rather than blocking.
	ErrSpoolFull = errors.New("alert: spool full")
	// ErrSpoolLocked: another Dispatcher holds the spool directory.
	ErrSpoolLocked = errors.New("alert: spool directory in use by another process")
	// ErrClosed: the Dispatcher was used after Close.
	ErrClosed = errors.New("alert: dispatcher closed")
	// ErrRejected wraps a sink's answer that retrying cannot change (a
	// webhook's 400, an SMTP 5xx for every recipient): the message is
	// dropped and counted instead of retried.
	ErrRejected = errors.New("alert: rejected by the receiver")
	// ErrPlaintextAuth: credentials would have crossed a connection
	// without TLS; the SMTP sink refuses to send them.
	ErrPlaintextAuth = errors.New("alert: smtp: refusing to authenticate over a connection without TLS")
	// ErrNoStartTLS: the SMTP server did not offer STARTTLS, which the
	// sink requires (security "starttls").
	ErrNoStartTLS = errors.New("alert: smtp: server does not offer STARTTLS")
	// ErrSignature: a webhook signature is missing, malformed, stale or
	// wrong (VerifySignature).
	ErrSignature = errors.New("alert: bad webhook signature")
)
