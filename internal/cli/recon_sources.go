package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/miekg/dns"

	"github.com/spf13/cobra"

	"github.com/dnsscout/dnsscout/internal/ingest"
	"github.com/dnsscout/dnsscout/internal/ipintel"
	"github.com/dnsscout/dnsscout/internal/passive"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/store"
)

// sourceFlags are recon's flags for passive sources, the store and
// address intelligence.
type sourceFlags struct {
	db             string
	passive        bool
	passiveOnly    bool
	noPassive      bool
	passiveSources []string
	passiveExclude []string
	passiveConfig  string
	passiveRate    float64
	dnsdbKey       string
	dnsdbURL       string
	circlAuth      string
	circlURL       string
	crtshURL       string
	mmdb           []string
	iptoasn        []string
	cymru          bool
}

func addSourceFlags(cmd *cobra.Command, f *sourceFlags) {
	fl := cmd.Flags()
	fl.StringVar(&f.db, "db", "", "passive DNS store `DIR` (or DSN): its names feed recon, and every answer recon sees is stored (sensor id \"recon\")")
	fl.BoolVar(&f.passive, "passive", false, "also ask remote passive sources: certificate transparency (crt.sh) and DNSDB/CIRCL services that have credentials")
	fl.BoolVar(&f.passiveOnly, "passive-only", false, "send no query about the target at all: report what passive sources know")
	fl.BoolVar(&f.noPassive, "no-passive", false, "use no passive source, not even --db")
	fl.StringSliceVar(&f.passiveSources, "passive-source", nil, "use only these passive sources (store, crtsh, circl, dnsdb, or a label of the config file)")
	fl.StringSliceVar(&f.passiveExclude, "passive-exclude", nil, "leave these passive sources out")
	fl.StringVar(&f.passiveConfig, "passive-config", "", "passive sources config `FILE` (default $DNSSCOUT_PASSIVE_CONFIG or ~/.config/dnsscout/passive.json; see docs/passive.md)")
	fl.Float64Var(&f.passiveRate, "passive-rate", 0, "requests/s per passive source (default 1)")
	fl.StringVar(&f.dnsdbKey, "dnsdb-key", "", "DNSDB API key (default $DNSSCOUT_DNSDB_KEY or $DNSDB_API_KEY)")
	fl.StringVar(&f.dnsdbURL, "dnsdb-url", "", "DNSDB-compatible server `URL` (another dnsscout serve works)")
	fl.StringVar(&f.circlAuth, "circl-auth", "", "CIRCL pDNS credentials `user:password` or token (default $CIRCL_AUTH)")
	fl.StringVar(&f.circlURL, "circl-url", "", "CIRCL-compatible server `URL`")
	fl.StringVar(&f.crtshURL, "crtsh-url", "", "crt.sh-compatible certificate search `URL` (a mirror)")
	fl.StringArrayVar(&f.mmdb, "mmdb", nil, "MaxMind-format database `FILE` for network, AS and country of addresses (repeatable)")
	fl.StringArrayVar(&f.iptoasn, "iptoasn", nil, "iptoasn TSV `FILE` (ip2asn-combined.tsv, optionally gzip) for network and AS (repeatable)")
	fl.BoolVar(&f.cymru, "cymru", false, "ask Team Cymru's DNS service (origin.asn.cymru.com) for the AS of addresses no file covers")
}

// reconSources is what the source flags built; close releases it.
type reconSources struct {
	db store.Backend
	// remember feeds every answer recon sees into db (sensor id "recon").
	remember  *ingest.Ingester
	log       *slog.Logger
	passive   []passive.Source
	annotator *ipintel.Annotator
	only      bool
	closers   []func()
}

func (s *reconSources) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// openSources opens the store, the passive sources and the address
// databases the flags ask for. Remote passive sources are used only when
// asked (--passive, --passive-only or --passive-source): recon never sends
// a target's name to a third party by default.
func openSources(ctx context.Context, e *env, f *sourceFlags, res *resolver.Resolver, logger *slog.Logger) (*reconSources, error) {
	s := &reconSources{only: f.passiveOnly, log: logger}
	if f.passiveOnly && f.noPassive {
		return nil, usageError("--passive-only and --no-passive exclude each other")
	}
	fail := func(err error) (*reconSources, error) {
		s.close()
		return nil, err
	}
	if f.db != "" {
		db, err := openStore(ctx, e, "", f.db, store.Options{Logger: logger})
		if err != nil {
			return fail(fmt.Errorf("store: %v", trimPkg(err)))
		}
		s.db = db
		s.closers = append(s.closers, func() { _ = db.Close() })
		in, err := ingest.New(db, ingest.Options{SensorID: "recon", Logger: logger})
		if err != nil {
			return fail(err)
		}
		s.remember = in
		s.closers = append(s.closers, func() {
			if err := in.Close(context.Background()); err != nil {
				logger.Warn("storing recon's answers failed", "err", err)
			}
		})
	}
	if !f.noPassive {
		opts := passive.Options{
			Only: f.passiveOnly, ConfigFile: f.passiveConfig, Sources: f.passiveSources, Exclude: f.passiveExclude,
			DNSDBKey: f.dnsdbKey, DNSDBURL: f.dnsdbURL, CIRCLAuth: f.circlAuth, CIRCLURL: f.circlURL, CrtShURL: f.crtshURL,
			Rate: f.passiveRate, Logger: logger, Getenv: e.getenv,
		}
		remote := f.passive || f.passiveOnly || len(f.passiveSources) > 0
		if !remote {
			// Only the local store, and only when there is one.
			opts.Sources = nil
			if s.db == nil {
				opts.Sources = []string{}
			} else {
				opts.Sources = []string{passive.KindStore}
			}
		}
		if remote || s.db != nil {
			srcs, err := passive.NewSources(opts, s.db)
			if err != nil {
				return fail(usageError("%v", trimPkg(err)))
			}
			s.passive = srcs
		}
	}
	if f.passiveOnly && len(s.passive) == 0 {
		return fail(usageError("--passive-only needs a passive source: give --db, --passive or --passive-source"))
	}
	if len(f.mmdb)+len(f.iptoasn) > 0 || f.cymru {
		a, err := ipintel.Open(ipintel.Options{MMDB: f.mmdb, IPToASN: f.iptoasn, Cymru: f.cymru, Exchanger: res, Logger: logger})
		if err != nil {
			return fail(fmt.Errorf("address intelligence: %v", trimPkg(err)))
		}
		s.annotator = a
		s.closers = append(s.closers, func() { _ = a.Close() })
	}
	return s, nil
}

// apply puts the sources into recon's options.
func (s *reconSources) apply(ctx context.Context, o *recon.Options) {
	o.Passive = s.passive
	o.PassiveOnly = s.only
	if in := s.remember; in != nil {
		o.Observe = func(resp *resolver.Response) {
			if resp.Msg.Question == nil || resp.Msg.Question[0].Qclass != dns.ClassINET {
				return
			}
			wire, err := resp.Msg.Pack()
			if err == nil {
				err = in.Message(ctx, time.Now(), wire, "")
			}
			if err != nil {
				s.log.Debug("answer not stored", "err", err)
			}
		}
	}
	if s.annotator != nil {
		o.Annotator = s.annotator
	}
}
