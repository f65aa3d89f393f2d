package ingest

import (
	"github.com/dnsscout/dnsscout/internal/ingest/pcap"
)

// origin tells what kind of DNS a message came from. mDNS (RFC 6762, UDP
// 5353) and LLMNR (RFC 4795, UDP 5355) answers are local names: any host
// on the link may claim any name, printer.local or www.example.com alike.
// Their records are kept, but never as global DNS: each becomes a tuple of
// its own, carrying the sensor id SENSOR/mdns or SENSOR/llmnr instead of
// SENSOR, and their NXDOMAINs are only counted.
//
// A sensor-id suffix rather than a new tuple field: the tuple, the store
// schemas of both backends, COF and the DNSDB/CIRCL APIs stay as they are,
// the mark travels everywhere the sensor id goes (COF export, remote
// sensors, sensor_id in every API answer), and a tuple seen both in global
// DNS and on the link carries both ids, so that neither hides the other.
type origin uint8

const (
	originDNS origin = iota
	originMDNS
	originLLMNR
	numOrigins
)

// localKeyPrefix starts the aggregation key of a local-name sighting,
// followed by its origin. No wire name starts with a byte this high (a
// label length is at most 63), and imported tuples use 0xff.
const localKeyPrefix = 0xf0

// originOf maps the server port a capture saw a message from.
func originOf(port uint16) origin {
	switch port {
	case 5353:
		return originMDNS
	case 5355:
		return originLLMNR
	}
	return originDNS
}

// decoderOptions are the capture decoder's options.
func (in *Ingester) decoderOptions() pcap.Options {
	return pcap.Options{
		Ports:          in.opt.Ports,
		AnyPort:        in.opt.AnyPort,
		AnyPortQueries: in.opt.AnyPortQueries,
		MaxDepth:       in.opt.DecapDepth,
		Logger:         in.log,
	}
}
