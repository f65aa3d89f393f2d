// Package backends compiles every store backend into the binary: importing
// it registers each backend's DSN scheme with package store (pebble:// and
// bare directories, clickhouse://). It is the one list of backends; a new
// backend is one import line here plus its package. It holds no code.
package backends

import (
	_ "github.com/dnsscout/dnsscout/internal/store/clickhouse" // clickhouse://
	_ "github.com/dnsscout/dnsscout/internal/store/pebble"     // pebble:// and directories, the default
)
