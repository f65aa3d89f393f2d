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

// Versioned is a backend that knows when its answers can have changed:
// Version returns a number that every write which can change a lookup's
// answer changes, and stable false while such a write is in progress. An
// answer read between two calls that returned the same number, both
// stable, is the answer a lookup would give at the second. The server
// caches answers with it; a backend written to by other processes (a
// ClickHouse cluster) cannot offer it.
type Versioned interface {
	Version() (v uint64, stable bool)
}
