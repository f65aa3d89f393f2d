//go:build !linux

package live

import (
	"context"
	"errors"
	"log/slog"

	"github.com/dnsscout/dnsscout/internal/ingest/pcap"
)

// ErrInterface: live capture needs Linux (AF_PACKET).
var ErrInterface = errors.New("live: capture is only available on Linux")

// Options configures Capture.
type Options struct {
	Interface string
	Ports     []uint16
	AnyPort   bool
	RingBytes int
	Logger    *slog.Logger
}

// Stats counts what the kernel did for the capture.
type Stats struct{ Packets, Drops uint64 }

// Capture fails: AF_PACKET is Linux only.
func Capture(context.Context, Options, *pcap.Decoder, func()) (Stats, error) {
	return Stats{}, ErrInterface
}
