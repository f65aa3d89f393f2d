package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/report"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// The recon page: POST /api/v1/recon runs recon and the audit checks on a
// domain through the server's own resolvers (serve --resolver; never the
// system's), one run at a time, and answers its findings. The full result
// and the HTML report (findings and domain map) stay available for the
// last ReconConfig.Keep runs at /api/v1/recon/{id}/result.json and
// /api/v1/recon/{id}/report.html; the id is 128 random bits, so these
// URLs are capabilities: whoever ran the recon holds them.

type reconState struct {
	cfg ReconConfig
	sem chan struct{}

	mu    sync.Mutex
	runs  map[string]*reconRun
	order []string
}

type reconRun struct {
	id     string
	result *scan.Report
	took   time.Duration
}

func newReconState(c *ReconConfig) (*reconState, error) {
	if c.Exchanger == nil {
		return nil, fmt.Errorf("%w: recon needs an exchanger (resolvers)", ErrOptions)
	}
	cfg := *c
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.Keep == 0 {
		cfg.Keep = 16
	}
	if cfg.Timeout < 0 || cfg.Keep < 0 {
		return nil, fmt.Errorf("%w: recon timeout and keep must not be negative", ErrOptions)
	}
	return &reconState{cfg: cfg, sem: make(chan struct{}, 1), runs: map[string]*reconRun{}}, nil
}

func (rs *reconState) keep(run *reconRun) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.runs[run.id] = run
	rs.order = append(rs.order, run.id)
	for len(rs.order) > rs.cfg.Keep {
		delete(rs.runs, rs.order[0])
		rs.order = rs.order[1:]
	}
}

func (rs *reconState) get(id string) *reconRun {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.runs[id]
}

// ReconAnswer is the answer of POST /api/v1/recon.
type ReconAnswer struct {
	ID     string `json:"id,omitempty"`
	Domain string `json:"domain"`
	// Error is set when the domain could not be examined (NXDOMAIN, no
	// resolver answer); nothing else is then.
	Error    string            `json:"error,omitempty"`
	TookMS   int64             `json:"took_ms"`
	Summary  map[string]int    `json:"summary,omitempty"`
	Findings []finding.Finding `json:"findings"`
	// Report and Result are the URLs of the HTML report and the full
	// recon result.
	Report string `json:"report,omitempty"`
	Result string `json:"result,omitempty"`
}

// parseReconDomain reads the domain of a recon request: JSON
// {"domain":"..."} or a form field domain.
func parseReconDomain(w http.ResponseWriter, r *http.Request) (string, error) {
	body := http.MaxBytesReader(w, r.Body, 4096)
	b, err := io.ReadAll(body)
	if err != nil {
		return "", sentinelf(ErrTooLarge, "recon request larger than 4096 bytes")
	}
	var domain string
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json", "":
		var v struct {
			Domain string `json:"domain"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&v); err != nil {
			return "", badRequest("want a JSON body {\"domain\":\"example.com\"}")
		}
		domain = v.Domain
	case "application/x-www-form-urlencoded":
		r.Body = io.NopCloser(bytes.NewReader(b))
		if err := r.ParseForm(); err != nil {
			return "", badRequest("malformed form")
		}
		domain = r.PostForm.Get("domain")
	default:
		return "", sentinelf(ErrMediaType, "Content-Type %q: send JSON", mt)
	}
	d, err := dnsname.Normalize(strings.TrimSpace(domain))
	if err != nil || d == "" || d == "." || strings.Contains(d, "*") {
		return "", badRequest("%q is not a domain name", domain)
	}
	return d, nil
}

// serveRecon runs a recon: POST /api/v1/recon.
func (s *Server) serveRecon(c *call) {
	w, r := &c.w, c.r
	if s.recon == nil {
		c.fail(sentinelf(ErrDisabled, "the recon page needs resolvers: start serve with --resolver ADDR"))
		return
	}
	domain, err := parseReconDomain(w, r)
	if err != nil {
		c.fail(err)
		return
	}
	if !c.admit(classQuery, page{cost: maxCost}) {
		return
	}
	rs := s.recon
	select {
	case rs.sem <- struct{}{}:
		defer func() { <-rs.sem }()
	default:
		c.fail(sentinelf(ErrBusy, "another recon is running; try again when it ends"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), rs.cfg.Timeout)
	defer cancel()
	start := time.Now()
	opts := rs.cfg.Options
	opts.Logger = s.log.With("recon", domain)
	opts.Recon.Logger, opts.Recon.Progress = nil, nil
	rep, err := scan.Run(ctx, rs.cfg.Exchanger, domain, opts)
	ans := ReconAnswer{Domain: domain, Findings: []finding.Finding{}}
	switch {
	case r.Context().Err() != nil:
		return
	case errors.Is(err, recon.ErrNoSuchDomain), errors.Is(err, recon.ErrNoAnswer):
		ans.Error = strings.TrimPrefix(err.Error(), "recon: ")
		ans.TookMS = time.Since(start).Milliseconds()
		writeJSON(w, http.StatusOK, ans)
		return
	case err != nil && rep == nil:
		c.fail(err)
		return
	case err != nil:
		s.log.Warn("recon incomplete", "domain", domain, "err", err)
	}
	found := rep.Findings
	run := &reconRun{id: newID(), result: rep, took: time.Since(start)}
	rs.keep(run)
	ans.ID = run.id
	ans.TookMS = run.took.Milliseconds()
	ans.Findings = found
	ans.Summary = map[string]int{
		"names": len(rep.Names), "records": len(rep.Records), "nameservers": len(rep.Nameservers),
		"zones": len(rep.Zones), "references": len(rep.References), "findings": len(found),
	}
	ans.Report = "/api/v1/recon/" + run.id + "/report.html"
	ans.Result = "/api/v1/recon/" + run.id + "/result.json"
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, ans)
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

// serveReconReport serves /api/v1/recon/{id}/report.html and
// /api/v1/recon/{id}/result.json.
func (s *Server) serveReconReport(c *call) {
	w, r := &c.w, c.r
	rest := strings.TrimPrefix(r.URL.Path, "/api/v1/recon/")
	id, file, ok := strings.Cut(rest, "/")
	if !ok || s.recon == nil || (file != "report.html" && file != "result.json") {
		c.fail(notFound(r.URL.Path))
		return
	}
	run := s.recon.get(id)
	if run == nil {
		c.fail(sentinelf(ErrNotFound, "no recon run %q here (runs are kept in memory; the oldest are dropped)", id))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if file == "result.json" {
		writeJSON(w, http.StatusOK, run.result)
		return
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, "html", []*scan.Report{run.result}, report.Options{Version: s.opt.Version}); err != nil {
		c.fail(err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The report brings its own hash-based script policy; this header
	// only lets the UI frame it.
	h.Set("Content-Security-Policy", "frame-ancestors 'self'")
	w.Write(buf.Bytes())
}
