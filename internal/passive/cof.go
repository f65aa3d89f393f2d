package passive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// streamResult is what one COF/SAF response body held.
type streamResult struct {
	// objects counts the result objects read (valid or not): DNSDB's
	// offset counts objects, not rdata values.
	objects int
	// delivered counts observations passed to fn.
	delivered int
	// cond is the SAF terminator ("succeeded", "limited", "failed"), or ""
	// for plain COF.
	cond string
	saf  bool
	// bad counts malformed objects.
	bad int
}

// namesAndBelow runs a name query for the domain itself and then for
// "*.domain", as CIRCL and DNSDB servers want, stopping after max
// observations in all (0: no cap).
func namesAndBelow(ctx context.Context, domain string, max int, log *slog.Logger,
	query func(ctx context.Context, value, domain string, max int, fn func(Observation) error) (int, error),
	fn func(Observation) error) error {
	d, err := CheckDomain(domain)
	if err != nil {
		return err
	}
	delivered := 0
	for _, value := range []string{d, "*." + d} {
		left := 0
		if max > 0 {
			if left = max - delivered; left <= 0 {
				return nil
			}
		}
		n, err := query(ctx, value, d, left, fn)
		delivered += n
		if err == errLimit {
			log.Debug("result cap reached", "max", max)
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readStream decodes a COF NDJSON or SAF body (pdns.Decoder detects which),
// re-renders rdata canonically, drops out-of-scope and malformed objects
// (counted skips) and passes the rest to fn. max > 0 stops after that many
// observations (errLimit). A SAF stream that fails or ends without its
// terminator is an error (ErrProtocol, ErrTruncated); a body read error
// (timeout, size limit) too.
func readStream(ctx context.Context, r io.Reader, domain, source string, max int, log *slog.Logger, fn func(Observation) error) (streamResult, error) {
	var res streamResult
	dec := pdns.NewDecoder(r)
	var buf []pdns.Tuple
	firstBad := 0
	for {
		var err error
		buf, err = dec.Decode(buf[:0])
		if errors.Is(err, io.EOF) {
			res.cond = dec.Cond()
			res.saf = res.cond != ""
			if res.bad > 0 && res.bad == res.objects {
				return res, fmt.Errorf("%w: %s: none of the %d lines is a COF object (the first is line %d)", ErrProtocol, source, res.bad, firstBad)
			}
			return res, nil
		}
		if err != nil {
			switch {
			case errors.Is(err, pdns.ErrSAFFailed):
				return res, fmt.Errorf("%w: %s: server reported failure: %v", ErrProtocol, source, err)
			case errors.Is(err, pdns.ErrSAFTruncated):
				return res, fmt.Errorf("%w: %s: SAF stream ended without a terminator", ErrTruncated, source)
			case errors.Is(err, pdns.ErrCOFSyntax), errors.Is(err, pdns.ErrCOFMissing), errors.Is(err, pdns.ErrCOFValue):
				res.objects++
				res.bad++
				if firstBad == 0 {
					firstBad = dec.Line()
				}
				skip(ctx, log, "malformed line", "line", dec.Line(), "err", err)
				continue
			}
			if errors.Is(err, bufio.ErrTooLong) {
				return res, fmt.Errorf("%w: %s: a line is longer than the COF line limit", ErrProtocol, source)
			}
			return res, readErr(source, err)
		}
		res.objects++
		for i := range buf {
			t := &buf[i]
			if !inScope(t.RRName, domain) {
				skip(ctx, log, "out of scope", "name", t.RRName)
				continue
			}
			t.RData, _ = pdns.CanonicalRData(t.RRType, t.RData)
			if max > 0 && res.delivered >= max {
				return res, errLimit
			}
			res.delivered++
			if err := fn(fromTuple(t, source)); err != nil {
				return res, err
			}
		}
	}
}
