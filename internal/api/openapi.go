package api

import "strconv"

// The OpenAPI 3 document served at /openapi.json is built from the Doc of
// every entry of the routing table (routes, route.go), gathered in
// apiRoutes. TestOpenAPIGolden keeps
// the rendered document in testdata/openapi.golden.json (go test -update
// rewrites it) and TestOpenAPIRoutesAnswer sends a request to every path
// of the table, filled with its parameters' examples, and checks that the
// server routes it; so the document and the server cannot drift apart.

// apiParam is one parameter of an endpoint.
type apiParam struct {
	name, in, desc string
	// example fills the parameter in the routing test (path parameters).
	example string
	enum    []string
	typ     string // string (default), integer, boolean
}

// apiRoute is one method on one path: an operation of the document.
type apiRoute struct {
	// method and auth are filled from the route (apiRoutes).
	method, path, id, tag, summary, desc string
	params                               []apiParam
	// auth: "key" (any API key scheme), "" (public), "capability" (the
	// URL itself is the secret).
	auth string
	// reqType is the request body media type, "" for none.
	reqType, reqSchema string
	// ok is the success media type and schema.
	okType, okSchema string
	// errors are the error statuses the endpoint may answer.
	errors []int
}

var (
	pVerb     = apiParam{name: "verb", in: "path", desc: "lookup (records) or summarize (count and time range).", example: "lookup", enum: []string{"lookup", "summarize"}}
	pRRType   = apiParam{name: "rrtype", in: "path", desc: "An rrtype mnemonic (any case), TYPEn, ANY (all but DNSSEC types) or ANY-DNSSEC.", example: "A"}
	pIPRRType = apiParam{name: "rrtype", in: "path", desc: "A, AAAA or ANY.", example: "A"}
	pBail     = apiParam{name: "bailiwick", in: "path", desc: "Only records from this zone's servers.", example: "example.com"}

	dnsdbQuery = []apiParam{
		{name: "limit", in: "query", typ: "integer", desc: "Most results (default 10000; 0 = the key's maximum)."},
		{name: "offset", in: "query", typ: "integer", desc: "Skip this many results (lookup only; 416 above the key's offset_max)."},
		{name: "max_count", in: "query", typ: "integer", desc: "Summarize: stop once the summed count reaches this."},
		{name: "aggr", in: "query", typ: "boolean", desc: "Accepted for compatibility; stored tuples are always aggregated."},
		{name: "humantime", in: "query", typ: "boolean", desc: "Times as RFC 3339 strings."},
		{name: "time_first_before", in: "query", typ: "integer", desc: "First seen before (epoch seconds, or negative seconds relative to now)."},
		{name: "time_first_after", in: "query", typ: "integer", desc: "First seen after."},
		{name: "time_last_before", in: "query", typ: "integer", desc: "Last seen before."},
		{name: "time_last_after", in: "query", typ: "integer", desc: "Last seen after."},
		{name: "swclient", in: "query", desc: "Client name (ignored)."},
		{name: "version", in: "query", desc: "Client version (ignored)."},
	}
	dnsdbErrors = []int{400, 401, 403, 404, 415, 416, 429, 500, 503}
)

// pIdempotency is the ingest routes' Idempotency-Key header.
var pIdempotency = apiParam{name: "Idempotency-Key", in: "header", desc: "1-128 characters of A-Z a-z 0-9 . _ -; a repeat is answered without being applied."}

// pReconID is the run id of the recon report routes.
var pReconID = apiParam{name: "id", in: "path", desc: "The run id from POST /api/v1/recon.", example: "00000000000000000000000000000000"}

// The history endpoints' parameters.
var (
	pScanID           = apiParam{name: "id", in: "path", desc: "A scan id (from /api/v1/scans).", example: "20240301T000000.000000000Z-00000001"}
	pDomain           = apiParam{name: "domain", in: "query", desc: "Only this domain.", example: "example.com"}
	historyListParams = []apiParam{
		{name: "since", in: "query", desc: "From this time on (RFC 3339)."},
		{name: "until", in: "query", desc: "Before this time (RFC 3339)."},
		{name: "limit", in: "query", typ: "integer", desc: "Most items (default 1000, at most 10000)."},
		{name: "cursor", in: "query", desc: "Continue after the page that returned this cursor."},
	}
)

// dnsdbDoc documents the DNSDB tree: lookups and summaries by each key,
// Flex search, ping and rate_limit.
func dnsdbDoc() []apiRoute {
	var rs []apiRoute
	dnsdb := func(path, id, summary string, params ...apiParam) {
		ps := append([]apiParam{pVerb}, params...)
		rs = append(rs, apiRoute{path: "/dnsdb/v2/{verb}/" + path, id: id, tag: "DNSDB API v2",
			summary: summary, params: append(ps, dnsdbQuery...),
			okType: "application/x-ndjson", okSchema: "SAFLine", errors: dnsdbErrors})
	}
	name := apiParam{name: "name", in: "path", desc: "An owner name, *.example.com (left-hand wildcard) or www.example.* (right-hand wildcard).", example: "www.example.com"}
	rawName := apiParam{name: "hex", in: "path", desc: "The owner name in DNS wire format, as hex.", example: "076578616d706c6503636f6d00"}
	dnsdb("rrset/name/{name}", "rrsetName", "Records owned by a name", name)
	dnsdb("rrset/name/{name}/{rrtype}", "rrsetNameType", "Records of one type owned by a name", name, pRRType)
	dnsdb("rrset/name/{name}/{rrtype}/{bailiwick}", "rrsetNameTypeBailiwick", "Records of one type owned by a name, from one bailiwick", name, pRRType, pBail)
	dnsdb("rrset/raw/{hex}", "rrsetRaw", "Records owned by a wire-format name", rawName)
	dnsdb("rrset/raw/{hex}/{rrtype}", "rrsetRawType", "Records of one type owned by a wire-format name", rawName, pRRType)
	dnsdb("rrset/raw/{hex}/{rrtype}/{bailiwick}", "rrsetRawTypeBailiwick", "Records of one type owned by a wire-format name, from one bailiwick", rawName, pRRType, pBail)
	rname := apiParam{name: "name", in: "path", desc: "A name in rdata (CNAME, NS, MX, SRV, PTR, SOA, ... targets); .example.com and www.example. are wildcards.", example: "www.example.com"}
	dnsdb("rdata/name/{name}", "rdataName", "Records pointing at a name", rname)
	dnsdb("rdata/name/{name}/{rrtype}", "rdataNameType", "Records of one type pointing at a name", rname, pRRType)
	ip := apiParam{name: "ip", in: "path", desc: "An address, a prefix ADDR,LEN (or ADDR/LEN escaped) or a range LOW-HIGH.", example: "192.0.2.0,24"}
	dnsdb("rdata/ip/{ip}", "rdataIP", "A and AAAA records pointing into an address, prefix or range", ip)
	dnsdb("rdata/ip/{ip}/{rrtype}", "rdataIPType", "A or AAAA records pointing into an address, prefix or range", ip, pIPRRType)
	rawData := apiParam{name: "hex", in: "path", desc: "Rdata in DNS wire format, as hex.", example: "c0000201"}
	dnsdb("rdata/raw/{hex}", "rdataRaw", "Records with exactly this wire-format rdata", rawData)
	dnsdb("rdata/raw/{hex}/{rrtype}", "rdataRawType", "Records of one type with exactly this wire-format rdata", rawData, pRRType)

	flexParams := []apiParam{
		{name: "method", in: "path", desc: "regex (RE2, matches anywhere unless anchored) or glob (* ? [...], whole value).", example: "glob", enum: []string{"regex", "glob"}},
		{name: "key", in: "path", desc: "rrnames (owner names with their trailing dot) or rdata (presentation form).", example: "rrnames", enum: []string{"rrnames", "rdata"}},
		{name: "pattern", in: "path", desc: "The pattern, percent-escaped.", example: "*.example.com."},
	}
	flexQuery := append([]apiParam{{name: "exclude", in: "query", desc: "Drop values matching this pattern (same method)."}}, dnsdbQuery...)
	return append(rs,
		apiRoute{path: "/dnsdb/v2/{method}/{key}/{pattern}", id: "flex", tag: "DNSDB API v2",
			summary: "Flex search: owner names or rdata matching a regex or glob",
			params:  append(append([]apiParam{}, flexParams...), flexQuery...),
			okType:  "application/x-ndjson", okSchema: "SAFLine", errors: dnsdbErrors},
		apiRoute{path: "/dnsdb/v2/{method}/{key}/{pattern}/{rrtype}", id: "flexType", tag: "DNSDB API v2",
			summary: "Flex search restricted to one rrtype",
			params:  append(append(append([]apiParam{}, flexParams...), pRRType), flexQuery...),
			okType:  "application/x-ndjson", okSchema: "SAFLine", errors: dnsdbErrors},
		apiRoute{path: "/dnsdb/v2/ping", id: "ping", tag: "DNSDB API v2", summary: "Liveness of the API and the key",
			okType: "application/x-ndjson", okSchema: "Ping", errors: []int{401, 403}},
		apiRoute{path: "/dnsdb/v2/rate_limit", id: "rateLimit", tag: "DNSDB API v2", summary: "The key's quota and limits",
			okType: "application/x-ndjson", okSchema: "RateLimit", errors: []int{401, 403}},
	)
}

// circlDoc documents the CIRCL query.
var circlDoc = []apiRoute{{path: "/pdns/query/{value}", id: "circlQuery", tag: "CIRCL passive DNS",
	summary: "Records of a name (owned or pointing at it), a left-hand wildcard, an address, a prefix or a range",
	desc:    "COF NDJSON; no results is 200 with an empty body. Page with the dribble-paginate-count and dribble-paginate-cursor request headers; x-dribble-cursor in the answer is the next page's cursor and is absent on the last page.",
	params: []apiParam{
		{name: "value", in: "path", desc: "www.example.com, *.example.com, 192.0.2.1, 192.0.2.0/24 (or ,24), 192.0.2.1-192.0.2.9; percent-escaped.", example: "www.example.com"},
		{name: "dribble-filter-rrtype", in: "header", desc: "Only this rrtype."},
		{name: "dribble-paginate-count", in: "header", typ: "integer", desc: "Page size."},
		{name: "dribble-paginate-cursor", in: "header", typ: "integer", desc: "Results already seen (x-dribble-cursor of the previous page)."},
	},
	okType: "application/x-ndjson", okSchema: "COF", errors: []int{400, 401, 403, 404, 415, 416, 429, 500, 503}}}

var statusText = map[int]string{
	400: "Malformed path, parameter or body (the body says what).",
	401: "Not authenticated (CIRCL, dnsscout) or key not allowed: revoked, expired, lacking the permission (DNSDB).",
	403: "Missing or invalid key (DNSDB) or key lacking the permission (CIRCL, dnsscout).",
	404: "No such endpoint or item (never \"no results\", which is 200).",
	405: "Wrong method.",
	413: "Body too large.",
	415: "Unsupported Accept, Content-Type or Content-Encoding.",
	416: "Offset above the key's offset_max, or an offset where none is allowed.",
	429: "Daily quota or burst limit reached, or the key or address penalized for misbehaving (Retry-After says when to retry).",
	500: "Server error.",
	503: "Too many requests in flight (the key's or the server's), or the store is unavailable.",
	504: "The recon run timed out.",
}

// openAPIDocument renders apiRoutes as an OpenAPI 3.0 document.
func openAPIDocument(version string) map[string]any {
	if version == "" {
		version = "dev"
	}
	paths := map[string]any{}
	for _, r := range apiRoutes {
		op := map[string]any{"operationId": r.id, "tags": []string{r.tag}, "summary": r.summary}
		if r.desc != "" {
			op["description"] = r.desc
		}
		var params []any
		for _, p := range r.params {
			typ := p.typ
			if typ == "" {
				typ = "string"
			}
			schema := map[string]any{"type": typ}
			if len(p.enum) > 0 {
				schema["enum"] = p.enum
			}
			param := map[string]any{"name": p.name, "in": p.in, "description": p.desc, "schema": schema}
			if p.in == "path" {
				param["required"] = true
			}
			if p.example != "" {
				param["example"] = p.example
			}
			params = append(params, param)
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		switch r.auth {
		case "key":
			op["security"] = []any{map[string]any{"apiKey": []string{}}, map[string]any{"basic": []string{}}, map[string]any{"token": []string{}}}
		default:
			op["security"] = []any{}
		}
		if r.reqType != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				r.reqType: map[string]any{"schema": ref(r.reqSchema)}}}
		}
		ok := map[string]any{"description": "Success."}
		if r.okType != "" {
			content := map[string]any{}
			if r.okSchema != "" {
				content["schema"] = ref(r.okSchema)
			}
			ok["content"] = map[string]any{r.okType: content}
		}
		responses := map[string]any{"200": ok}
		for _, code := range r.errors {
			responses[strconv.Itoa(code)] = map[string]any{"description": statusText[code],
				"content": map[string]any{"application/json": map[string]any{"schema": ref("Error")}}}
		}
		op["responses"] = responses
		item, _ := paths[r.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[r.path] = item
		}
		item[r.method] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":   "dnsscout passive DNS server",
			"version": version,
			"description": "DNSDB API v2 and CIRCL-compatible passive DNS over dnsscout's store, remote-sensor ingest, " +
				"the web UI's endpoints and operations. See docs/api.md.",
		},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key"},
				"basic":  map[string]any{"type": "http", "scheme": "basic", "description": "User = key id and password = secret, or the whole key as either (CIRCL clients)."},
				"token":  map[string]any{"type": "http", "scheme": "bearer", "description": "The key in Authorization, with or without Bearer."},
			},
			"schemas": schemas(),
		},
	}
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func schemas() map[string]any {
	str := map[string]any{"type": "string"}
	integer := map[string]any{"type": "integer", "format": "int64"}
	intOrString := map[string]any{"oneOf": []any{integer, str}}
	obj := func(required []string, props map[string]any) map[string]any {
		o := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			o["required"] = required
		}
		return o
	}
	boolean := map[string]any{"type": "boolean"}
	dateTime := map[string]any{"type": "string", "format": "date-time"}
	strs := map[string]any{"type": "array", "items": str}
	array := func(items any) map[string]any { return map[string]any{"type": "array", "items": items} }
	finding := map[string]any{"type": "object", "description": "An audit finding: id, severity, title, subject, evidence, remediation, references (docs/checks.md)."}
	cof := obj([]string{"rrname", "rrtype", "rdata"}, map[string]any{
		"rrname": str, "rrtype": str,
		"rdata":           map[string]any{"type": "array", "items": str},
		"count":           integer,
		"time_first":      intOrString,
		"time_last":       intOrString,
		"zone_time_first": intOrString,
		"zone_time_last":  intOrString,
		"bailiwick":       str,
		"sensor_id":       map[string]any{"oneOf": []any{str, map[string]any{"type": "array", "items": str}}},
	})
	return map[string]any{
		"COF": cof,
		"SAFLine": map[string]any{
			"description": "One line of DNSDB's framing: {\"cond\":\"begin\"}, then {\"obj\":...} lines, then succeeded, limited (with msg) or failed (with msg).",
			"type":        "object",
			"properties": map[string]any{
				"cond": map[string]any{"type": "string", "enum": []string{"begin", "succeeded", "limited", "failed"}},
				"msg":  str,
				"obj":  map[string]any{"description": "A lookup object (COF), a summarize object (count, num_results, times) or a Flex result (rrname or rdata and raw_rdata, rrtype, count, times).", "type": "object"},
			},
		},
		"Ping": obj([]string{"ping"}, map[string]any{"ping": map[string]any{"type": "string", "enum": []string{"ok"}}}),
		"RateLimit": obj([]string{"rate"}, map[string]any{"rate": obj(nil, map[string]any{
			"reset": intOrString, "expires": intOrString, "limit": intOrString, "remaining": intOrString,
			"results_max": intOrString, "offset_max": intOrString, "burst_size": integer, "burst_window": integer,
		})}),
		"Error": obj([]string{"error", "status"}, map[string]any{"error": str, "status": integer}),
		"NXCount": obj([]string{"rrname", "count", "time_last"}, map[string]any{
			"rrname": str, "count": integer, "time_first": integer, "time_last": integer,
		}),
		"IngestResult": obj([]string{"accepted", "rejected"}, map[string]any{
			"accepted": integer, "rejected": integer, "errors": map[string]any{"type": "array", "items": str},
			"duplicate": map[string]any{"type": "boolean"},
		}),
		"SearchResult": obj([]string{"query", "kind", "type", "results", "more", "next_offset"}, map[string]any{
			"query": str, "kind": str, "type": str, "results": map[string]any{"type": "array", "items": ref("COF")},
			"more": map[string]any{"type": "boolean"}, "next_offset": integer,
		}),
		"Info": obj([]string{"version", "auth_required", "recon"}, map[string]any{
			"version": str, "auth_required": map[string]any{"type": "boolean"}, "recon": map[string]any{"type": "boolean"},
			"default_limit": integer, "max_results": integer,
		}),
		"ReconRequest": obj([]string{"domain"}, map[string]any{"domain": str}),
		"Scan": obj([]string{"id", "domain", "started", "complete", "counts"}, map[string]any{
			"id": str, "domain": str, "started": dateTime, "finished": dateTime,
			"complete": boolean, "outage": boolean, "error": str,
			"counts": obj(nil, map[string]any{"names": integer, "records": integer, "nameservers": integer, "findings": ref("SeverityCounts")}),
		}),
		"SeverityCounts": obj(nil, map[string]any{"info": integer, "low": integer, "medium": integer, "high": integer, "critical": integer}),
		"Snapshot": obj([]string{"domain"}, map[string]any{
			"domain": str, "names": strs, "nameservers": strs, "records": array(ref("Record")), "findings": array(finding),
		}),
		"Record":     obj([]string{"name", "type", "data"}, map[string]any{"name": str, "type": str, "data": str}),
		"ScanList":   obj([]string{"scans"}, map[string]any{"scans": array(ref("Scan")), "cursor": str}),
		"ScanDetail": obj([]string{"scan"}, map[string]any{"scan": ref("Scan"), "snapshot": ref("Snapshot")}),
		"ScanDiff": obj([]string{"from", "to", "diff"}, map[string]any{"from": ref("Scan"), "to": ref("Scan"), "diff": obj(nil, map[string]any{
			"names_added": strs, "names_removed": strs, "nameservers_added": strs, "nameservers_removed": strs,
			"records_added": array(ref("Record")), "records_removed": array(ref("Record")),
			"findings_added": array(finding), "findings_removed": array(finding), "findings_changed": array(finding),
		})}),
		"FindingState": obj([]string{"domain", "key", "finding", "state", "first_seen", "last_seen"}, map[string]any{
			"domain": str, "key": str, "finding": finding, "state": map[string]any{"type": "string", "enum": []string{"open", "resolved"}},
			"first_seen": dateTime, "last_seen": dateTime, "resolved_at": dateTime, "resolved_scan": str,
			"reopened": integer, "reopened_at": dateTime, "first_scan": str, "last_scan": str,
		}),
		"FindingList": obj([]string{"findings"}, map[string]any{"findings": array(ref("FindingState")), "cursor": str}),
		"Event": obj([]string{"domain", "time", "scan_id", "seq", "kind", "subject", "severity"}, map[string]any{
			"domain": str, "time": dateTime, "scan_id": str, "seq": integer, "kind": str, "subject": str, "severity": str,
			"finding_id": str, "detail": str, "baseline": boolean,
		}),
		"EventList": obj([]string{"events"}, map[string]any{"events": array(ref("Event")), "cursor": str}),
		"DomainList": obj([]string{"domains"}, map[string]any{"domains": array(obj([]string{"domain", "last_scan", "open", "watched"}, map[string]any{
			"domain": str, "last_scan": ref("Scan"), "open": ref("SeverityCounts"), "watched": boolean,
			"next": dateTime, "failures": integer, "failing_since": dateTime, "error": str,
			"source": map[string]any{"type": "string", "enum": []string{"config", "api"}}, "every_ns": integer,
		}))}),
		"DomainsAdd": obj(nil, map[string]any{"domain": str, "domains": strs, "every": str}),
		"DomainsChanged": obj([]string{"domains", "managed"}, map[string]any{"domains": array(obj([]string{"domain", "status"}, map[string]any{
			"domain": str, "every_ns": integer,
			"status": map[string]any{"type": "string", "enum": []string{"added", "updated", "unchanged", "configured", "removed"}},
		})), "managed": integer}),
		"ReconAnswer": obj([]string{"domain", "findings"}, map[string]any{
			"id": str, "domain": str, "error": str, "took_ms": integer,
			"summary":  map[string]any{"type": "object", "additionalProperties": integer},
			"findings": map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
			"report":   str, "result": str,
		}),
	}
}
