package store

// Abilities the passive DNS server (internal/api) looks for. They live in
// their own file so that the API's needs are visible in one place.

// SizeReporter is the optional ability of a backend to tell, without
// scanning its data, how much space it occupies. The server's /metrics
// polls it for dnsscout_store_bytes; without it the server measures the
// store's directory when it knows one.
type SizeReporter interface {
	// DiskUsage returns the bytes the store occupies on disk.
	DiskUsage() int64
}
