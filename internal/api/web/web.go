// Package web holds the passive DNS server's web UI: one HTML page, its
// script and style sheet and an icon, embedded in the binary. The script
// is vanilla JavaScript that talks to the server's JSON endpoints
// (/api/v1/info, /api/v1/search, /api/v1/recon); nothing is loaded from
// elsewhere. It owns no Go logic: internal/api serves these files.
package web

import "embed"

// Files are the UI's assets: index.html, app.js, app.css, favicon.svg.
//
//go:embed index.html app.js app.css favicon.svg
var Files embed.FS
