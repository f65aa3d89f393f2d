package api

import (
	"net/http"
	"path"

	"github.com/dnsscout/dnsscout/internal/api/web"
)

// uiCSP is the web UI's Content Security Policy: its own script and style
// sheet only, requests to this server only, frames (the recon report) from
// this server only.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// uiFile is an embedded file and its media type.
type uiFile struct{ file, ctype string }

// uiFiles maps URL paths to embedded files and their types.
var uiFiles = map[string]uiFile{
	"/":               {"index.html", "text/html; charset=utf-8"},
	"/index.html":     {"index.html", "text/html; charset=utf-8"},
	"/ui/app.js":      {"app.js", "text/javascript; charset=utf-8"},
	"/ui/app.css":     {"app.css", "text/css; charset=utf-8"},
	"/ui/favicon.svg": {"favicon.svg", "image/svg+xml"},
	"/favicon.ico":    {"favicon.svg", "image/svg+xml"},
}

// parseUIPath is the UI route's Parse: the embedded file a path names;
// any other path is a 404.
func parseUIPath(_ *Server, r *http.Request) (any, error) {
	f, ok := uiFiles[path.Clean("/"+r.URL.Path)]
	if !ok || r.URL.Path != path.Clean("/"+r.URL.Path) && r.URL.Path != "/" {
		return nil, notFound(r.URL.Path)
	}
	return f, nil
}

// serveUI serves the embedded web UI.
func (s *Server) serveUI(c *call) {
	f := c.parsed.(uiFile)
	b, err := web.Files.ReadFile(f.file)
	if err != nil {
		c.fail(err)
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	c.w.Write(b)
}
