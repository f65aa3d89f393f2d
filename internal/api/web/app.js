// dnsscout web UI: search the passive DNS store, pivot on names and
// addresses, and run a recon. Everything that comes from DNS is shown
// with textContent, never parsed as HTML.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const KEY = "dnsscout.apikey";
  let apiKey = "";
  try { apiKey = window.localStorage.getItem(KEY) || ""; } catch (e) { apiKey = ""; }

  const state = { rows: [], more: false, nextOffset: 0, params: null, sortKey: "last", sortDir: -1, info: null };

  // Types whose rdata holds names, and which fields (1-based; 0 = all).
  const NAME_FIELDS = { NS: [0], CNAME: [0], DNAME: [0], PTR: [0], MX: [2], SRV: [4], SOA: [1, 2],
    HTTPS: [2], SVCB: [2], AFSDB: [2], KX: [2], RT: [2], NAPTR: [6] };

  function headers(extra) {
    const h = Object.assign({ "Accept": "application/json" }, extra || {});
    if (apiKey) h["X-API-Key"] = apiKey;
    return h;
  }

  async function api(path, opts) {
    const o = Object.assign({}, opts || {});
    o.headers = headers(opts && opts.headers);
    const res = await fetch(path, o);
    let body = null;
    const text = await res.text();
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
    if (!res.ok) {
      const msg = body && body.error ? body.error : res.status + " " + res.statusText;
      const err = new Error(msg);
      err.status = res.status;
      throw err;
    }
    return body;
  }

  function el(tag, props, children) {
    const e = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (k === "text") e.textContent = v;
        else if (k === "class") e.className = v;
        else e.setAttribute(k, v);
      }
    }
    for (const c of children || []) if (c) e.appendChild(c);
    return e;
  }

  function fmtTime(t) {
    if (!t) return "–";
    return new Date(t * 1000).toISOString().replace("T", " ").replace(".000Z", "Z");
  }

  // window returns the sighting window of a COF object: sensor times, or
  // zone-file times for records only seen in zones.
  function window_(r) {
    if (r.time_first || r.time_last) return [r.time_first || 0, r.time_last || 0, false];
    return [r.zone_time_first || 0, r.zone_time_last || 0, true];
  }

  function setStatus(id, text, isError) {
    const s = $(id);
    s.textContent = text;
    s.className = isError ? "error" : "";
  }

  // ---------------------------------------------------------------- search

  function searchHash(q, side, type) {
    const p = new URLSearchParams({ q: q });
    if (side && side !== "rrset") p.set("side", side);
    if (type) p.set("type", type);
    return "#/search?" + p.toString();
  }

  async function runSearch(params, append) {
    $("q").value = params.q;
    $("side").value = params.side || "rrset";
    $("type").value = params.type || "";
    if (!append) {
      state.rows = [];
      state.nextOffset = 0;
    }
    state.params = params;
    setStatus("status", "Searching " + params.q + "…");
    $("search-button").disabled = true;
    const p = new URLSearchParams({ q: params.q, offset: String(state.nextOffset) });
    if (params.side) p.set("side", params.side);
    if (params.type) p.set("type", params.type);
    try {
      const ans = await api("/api/v1/search?" + p.toString());
      for (const r of ans.results) {
        const [first, last, zone] = window_(r);
        state.rows.push(Object.assign({ first: first, last: last, zone: zone }, r));
      }
      state.more = ans.more;
      state.nextOffset = ans.next_offset;
      const n = state.rows.length;
      setStatus("status", n === 0 ? "No records for " + params.q + " (" + ans.kind + ", " + ans.type + ")."
        : n + " record" + (n === 1 ? "" : "s") + " for " + params.q + " (" + ans.kind + ", " + ans.type + ")" + (ans.more ? "; more available." : "."));
      renderResults();
    } catch (e) {
      setStatus("status", "Search failed: " + e.message, true);
      if (e.status === 401 || e.status === 403) $("keybox").hidden = false;
    } finally {
      $("search-button").disabled = false;
    }
  }

  function compare(a, b, key) {
    const x = a[key], y = b[key];
    if (typeof x === "number" && typeof y === "number") return x - y;
    if (key === "rdata") return String(x && x[0]).localeCompare(String(y && y[0]));
    return String(x).localeCompare(String(y));
  }

  function renderTypeFilter() {
    const sel = $("typefilter");
    const cur = sel.value;
    const types = Array.from(new Set(state.rows.map((r) => r.rrtype))).sort();
    while (sel.options.length > 1) sel.remove(1);
    for (const t of types) sel.appendChild(el("option", { value: t, text: t }));
    sel.value = types.includes(cur) ? cur : "";
  }

  function pivotLinksForRData(r) {
    const data = Array.isArray(r.rdata) ? r.rdata[0] : String(r.rdata);
    const cell = el("td", { class: "rdata" });
    if (r.rrtype === "A" || r.rrtype === "AAAA") {
      cell.appendChild(el("a", { href: searchHash(data, "rdata", ""), class: "pivot", title: "Other names on this address", text: data }));
      return cell;
    }
    const fields = NAME_FIELDS[r.rrtype];
    if (!fields) {
      cell.textContent = data;
      return cell;
    }
    const toks = data.split(/\s+/);
    const linkable = new Set(fields[0] === 0 ? [0] : fields.map((f) => f - 1));
    if (fields[0] === 0) {
      cell.appendChild(nameLink(data));
      return cell;
    }
    toks.forEach((t, i) => {
      if (i > 0) cell.appendChild(document.createTextNode(" "));
      if (linkable.has(i) && t !== ".") cell.appendChild(nameLink(t));
      else cell.appendChild(document.createTextNode(t));
    });
    return cell;
  }

  // subjectCell links the name a finding is about ("ns1.example.com
  // (192.0.2.53)": the name, then the rest as text).
  function subjectCell(subject) {
    const s = String(subject || "");
    const i = s.indexOf(" ");
    const name = i < 0 ? s : s.slice(0, i);
    const span = el("span");
    if (/^[A-Za-z0-9_.*-]+$/.test(name) && name.includes(".")) span.appendChild(nameLink(name));
    else span.appendChild(document.createTextNode(name));
    if (i >= 0) span.appendChild(document.createTextNode(s.slice(i)));
    return span;
  }

  function nameLink(name) {
    const n = name.replace(/\.$/, "") || ".";
    return el("a", { href: searchHash(n, "rrset", ""), class: "pivot", title: "Records of " + n, text: name });
  }

  function renderResults() {
    renderTypeFilter();
    const filter = $("typefilter").value;
    const rows = state.rows.filter((r) => !filter || r.rrtype === filter);
    rows.sort((a, b) => state.sortDir * compare(a, b, state.sortKey) || compare(a, b, "rrname"));
    let lo = Infinity, hi = -Infinity;
    for (const r of rows) {
      if (r.first) lo = Math.min(lo, r.first);
      if (r.last) hi = Math.max(hi, r.last);
    }
    const span = hi > lo ? hi - lo : 1;
    const tbody = $("results").tBodies[0];
    tbody.replaceChildren();
    for (const r of rows) {
      const nameCell = el("td", { class: "rrname" }, [
        el("a", { href: searchHash(r.rrname, "rrset", ""), class: "pivot", title: "All records of " + r.rrname, text: r.rrname }),
        el("a", { href: searchHash(r.rrname, "rdata", ""), class: "pivot back", title: "Records pointing at " + r.rrname, text: "←" }),
      ]);
      const bar = el("div", { class: "bar" + (r.zone ? " zone" : "") });
      if (r.first && r.last) {
        bar.style.left = (100 * (r.first - lo) / span).toFixed(2) + "%";
        bar.style.width = Math.max(0.8, 100 * (r.last - r.first) / span).toFixed(2) + "%";
      }
      const track = el("div", { class: "track", title: fmtTime(r.first) + " → " + fmtTime(r.last) + (r.zone ? " (zone file)" : "") }, [bar]);
      tbody.appendChild(el("tr", null, [
        nameCell,
        el("td", { class: "rrtype", text: r.rrtype }),
        pivotLinksForRData(r),
        el("td", { class: "num", text: String(r.count) }),
        el("td", { class: "time", text: fmtTime(r.first) + (r.zone ? " (zone)" : "") }),
        el("td", { class: "time", text: fmtTime(r.last) + (r.zone ? " (zone)" : "") }),
        el("td", { class: "timeline" }, [track]),
      ]));
    }
    for (const th of $("results").tHead.rows[0].cells) {
      th.classList.toggle("sorted", th.dataset.key === state.sortKey);
      th.classList.toggle("desc", th.dataset.key === state.sortKey && state.sortDir < 0);
      if (th.dataset.key) th.setAttribute("aria-sort", th.dataset.key === state.sortKey ? (state.sortDir < 0 ? "descending" : "ascending") : "none");
    }
    $("results").hidden = state.rows.length === 0;
    $("toolbar").hidden = state.rows.length === 0;
    $("count").textContent = rows.length + " shown";
    $("span").textContent = rows.length && isFinite(lo) ? "timeline " + fmtTime(lo) + " → " + fmtTime(hi) : "";
    $("more").hidden = !state.more;
  }

  // ---------------------------------------------------------------- recon

  async function runRecon(domain) {
    $("domain").value = domain;
    setStatus("recon-status", "Running recon of " + domain + "… (this can take a few minutes)");
    $("recon-button").disabled = true;
    $("findings").hidden = true;
    $("recon-summary").hidden = true;
    $("report").hidden = true;
    $("report-links").hidden = true;
    try {
      const ans = await api("/api/v1/recon", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ domain: domain }),
      });
      if (ans.error) {
        setStatus("recon-status", ans.domain + ": " + ans.error, true);
        return;
      }
      setStatus("recon-status", "Recon of " + ans.domain + " finished in " + (ans.took_ms / 1000).toFixed(1) + " s: " + ans.findings.length + " findings.");
      const dl = $("recon-summary");
      dl.replaceChildren();
      for (const [k, v] of Object.entries(ans.summary || {})) {
        dl.appendChild(el("div", null, [el("dt", { text: k }), el("dd", { text: String(v) })]));
      }
      dl.hidden = false;
      const tbody = $("findings").tBodies[0];
      tbody.replaceChildren();
      for (const f of ans.findings) {
        tbody.appendChild(el("tr", { class: "sev-" + f.severity }, [
          el("td", { class: "sev", text: f.severity }),
          el("td", null, [el("strong", { text: f.title }), el("div", { class: "muted", text: f.id })]),
          el("td", null, [subjectCell(f.subject)]),
          el("td", { class: "evidence", text: (f.evidence || []).slice(0, 4).join("\n") + ((f.evidence || []).length > 4 ? "\n…" : "") }),
        ]));
      }
      $("findings").hidden = ans.findings.length === 0;
      const links = $("report-links");
      links.replaceChildren(
        el("a", { href: ans.report + "#d0-mapsec", target: "report", text: "Domain map" }),
        document.createTextNode(" · "),
        el("a", { href: ans.report, target: "report", text: "Findings" }),
        document.createTextNode(" · "),
        el("a", { href: ans.report, target: "_blank", rel: "noopener", text: "Open the report" }),
        document.createTextNode(" · "),
        el("a", { href: ans.result, target: "_blank", rel: "noopener", text: "Result JSON" }));
      links.hidden = false;
      const frame = $("report");
      frame.src = ans.report;
      frame.hidden = false;
    } catch (e) {
      setStatus("recon-status", "Recon failed: " + e.message, true);
      if (e.status === 401 || e.status === 403) $("keybox").hidden = false;
    } finally {
      $("recon-button").disabled = false;
    }
  }


  // ---------------------------------------------------------------- watch

  const SEVS = ["critical", "high", "medium", "low", "info"];
  const MAX_TRENDS = 200;
  const KIND_TEXT = {
    "finding-opened": "finding opened", "finding-resolved": "finding resolved", "finding-reopened": "finding reopened",
    "finding-changed": "severity changed", "name-added": "name appeared", "name-removed": "name vanished",
    "nameserver-added": "nameserver added", "nameserver-removed": "nameserver removed",
    "record-added": "record added", "record-removed": "record removed", "outage": "outage",
  };

  function isoTime(t) {
    if (!t || t.startsWith("0001-")) return "–";
    return t.replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  function chips(open) {
    const d = el("span", { class: "chips" });
    for (const s of SEVS) {
      const n = (open || {})[s] || 0;
      d.appendChild(el("span", { class: "chip " + s + (n ? "" : " zero"), title: n + " open " + s, "data-sev": s, text: s + " " + n }));
    }
    return d;
  }

  function scanLabel(sc) {
    if (!sc || !sc.id) return el("span", { class: "muted", text: "not scanned yet" });
    const what = sc.outage ? "outage" : sc.complete ? "complete" : "partial";
    return el("span", null, [
      document.createTextNode(isoTime(sc.started) + " "),
      el("span", { class: "scan-" + what, text: "(" + what + (sc.error ? ": " + sc.error : "") + ")" }),
    ]);
  }

  function domainHash(d, scan) {
    const p = new URLSearchParams({ d: d });
    if (scan) p.set("scan", scan);
    return "#/watch/domain?" + p.toString();
  }

  function openTotal(sc) {
    const f = (sc.counts || {}).findings || {};
    return SEVS.reduce((n, s) => n + (f[s] || 0), 0);
  }

  // trendSVG draws the findings each scan saw, oldest to newest (outages
  // are skipped: they saw nothing).
  function trendSVG(scans) {
    const vals = scans.filter((s) => !s.outage).map(openTotal).reverse();
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "trend");
    svg.setAttribute("viewBox", "0 0 100 20");
    svg.setAttribute("preserveAspectRatio", "none");
    const t = document.createElementNS(ns, "title");
    t.textContent = vals.length ? "findings per scan: " + vals.join(", ") : "no scans";
    svg.appendChild(t);
    if (vals.length) {
      const hi = Math.max(1, ...vals);
      const pts = vals.map((v, i) => (vals.length === 1 ? 50 : (100 * i) / (vals.length - 1)).toFixed(1) + "," + (19 - (18 * v) / hi).toFixed(1));
      const pl = document.createElementNS(ns, "polyline");
      pl.setAttribute("points", pts.length === 1 ? "0," + pts[0].split(",")[1] + " 100," + pts[0].split(",")[1] : pts.join(" "));
      svg.appendChild(pl);
    }
    svg.dataset.values = vals.join(",");
    return svg;
  }

  // sourceCell says where a watched domain comes from; one added through
  // the API can be removed from the watch here (its history stays).
  function sourceCell(d) {
    const td = el("td", { class: "source", text: d.source || (d.watched ? "" : "history only") });
    if (d.source !== "api") return td;
    const b = el("button", { type: "button", class: "unwatch", "data-domain": d.domain, text: "Stop watching" });
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await api("/api/v1/domains/" + encodeURIComponent(d.domain), { method: "DELETE" });
        setStatus("watch-add-status", d.domain + " is no longer watched; its history is kept.");
        await showInventory();
      } catch (e) {
        b.disabled = false;
        setStatus("watch-add-status", "Cannot stop watching " + d.domain + ": " + e.message, true);
        if (e.status === 401 || e.status === 403) $("keybox").hidden = false;
      }
    });
    td.append(" ", b);
    return td;
  }

  // addWatched posts the form's domains (separated by commas or spaces)
  // to the running watch and shows what became of each.
  async function addWatched(ev) {
    ev.preventDefault();
    const domains = $("watch-add-domains").value.split(/[\s,]+/).filter((x) => x);
    if (!domains.length) return;
    const body = { domains: domains };
    const every = $("watch-add-every").value.trim();
    if (every) body.every = every;
    const button = ev.target.querySelector("button");
    button.disabled = true;
    try {
      const ans = await api("/api/v1/domains", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      setStatus("watch-add-status", ans.domains.map((c) => c.domain + ": " + c.status).join(", ") + ".");
      $("watch-add-domains").value = "";
      await showInventory();
    } catch (e) {
      setStatus("watch-add-status", "Cannot add: " + e.message, true);
      if (e.status === 401 || e.status === 403) $("keybox").hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  async function showInventory() {
    setStatus("watch-status", "Loading the inventory…");
    try {
      const ans = await api("/api/v1/domains");
      const tbody = $("inventory").tBodies[0];
      tbody.replaceChildren();
      for (const d of ans.domains) {
        const trend = el("td", { class: "trend" });
        let next = "–";
        if (d.watched) next = d.failures ? "retrying (" + d.failures + " failures: " + (d.error || "") + ")" : isoTime(d.next);
        tbody.appendChild(el("tr", { "data-domain": d.domain }, [
          el("td", null, [el("a", { href: domainHash(d.domain), class: "pivot", text: d.domain })]),
          el("td", { class: "open" }, [chips(d.open)]),
          el("td", { class: "time" }, [scanLabel(d.last_scan)]),
          el("td", { class: "time", text: next }),
          trend,
          sourceCell(d),
        ]));
        // Trends of the first rows only: one request each.
        if (tbody.rows.length > MAX_TRENDS) { trend.textContent = "–"; continue; }
        api("/api/v1/scans?" + new URLSearchParams({ domain: d.domain, limit: "30" }).toString())
          .then((l) => trend.appendChild(trendSVG(l.scans))).catch(() => { trend.textContent = "–"; });
      }
      $("inventory").hidden = ans.domains.length === 0;
      setStatus("watch-status", ans.domains.length ? ans.domains.length + " domain" + (ans.domains.length === 1 ? "" : "s") + "."
        : "No scan history yet: run dnsscout watch, or serve --watch CONFIG.");
    } catch (e) {
      setStatus("watch-status", "Cannot load the inventory: " + e.message, true);
      if (e.status === 401 || e.status === 403) $("keybox").hidden = false;
    }
  }

  // timelineLines turns one scan's events (in order) into what its alerts
  // said: the first scan is one baseline line and its findings; records of
  // a name that appeared or vanished in the same scan go with the name; an
  // outage that goes on is not alerted again.
  function timelineLines(sc, evs, older) {
    const lines = [];
    const baseline = evs.some((e) => e.baseline);
    if (baseline && sc) {
      const c = sc.counts || {};
      lines.push({ kind: "baseline", text: "first scan (baseline)", severity: "info", subject: sc.domain,
        detail: (c.names || 0) + " names, " + (c.records || 0) + " records, " + (c.nameservers || 0) + " nameservers, " + openTotal(sc) + " findings" });
    }
    const named = {};
    for (const e of evs) if (e.kind === "name-added" || e.kind === "name-removed") named[e.subject] = [];
    for (const e of evs) if ((e.kind === "record-added" || e.kind === "record-removed") && named[e.subject]) named[e.subject].push(e.detail);
    for (const e of evs) {
      if (baseline && !e.finding_id) continue;
      if ((e.kind === "record-added" || e.kind === "record-removed") && named[e.subject]) continue;
      let text = KIND_TEXT[e.kind] || e.kind, detail = e.detail || "";
      if (named[e.subject] && (e.kind === "name-added" || e.kind === "name-removed")) detail = named[e.subject].join("; ");
      if (e.kind === "outage" && older && older.outage) text = "outage goes on (not alerted again)";
      // An outage is alerted as medium (internal/watch).
      lines.push({ kind: e.kind, text: text, severity: e.kind === "outage" ? "medium" : e.severity, subject: e.subject, detail: detail, finding: e.finding_id });
    }
    return lines;
  }

  const domainState = { d: "", cursor: "", scans: [], byID: {} };

  async function showDomain(d, focus) {
    $("domain-name").textContent = d;
    setStatus("domain-status", "Loading " + d + "…");
    $("timeline").hidden = true;
    $("lifecycle").hidden = true;
    $("diff-form").hidden = true;
    $("timeline").tBodies[0].replaceChildren();
    $("domain-open").replaceChildren();
    try {
      const q = (o) => new URLSearchParams(Object.assign({ domain: d }, o)).toString();
      const [scans, fs] = await Promise.all([api("/api/v1/scans?" + q({ limit: "1000" })), api("/api/v1/findings?" + q({}))]);
      domainState.d = d;
      domainState.scans = scans.scans;
      domainState.byID = {};
      scans.scans.forEach((s, i) => { domainState.byID[s.id] = i; });
      domainState.cursor = "";
      const open = {};
      for (const f of fs.findings) if (f.state === "open") open[f.finding.severity] = (open[f.finding.severity] || 0) + 1;
      $("domain-open").replaceChildren(el("span", { class: "muted", text: "Open findings: " }), chips(open));
      renderDiffForm(scans.scans, focus);
      renderLifecycle(fs.findings);
      await loadTimeline(focus);
      const last = scans.scans[0];
      setStatus("domain-status", scans.scans.length ? scans.scans.length + " scans; last " + isoTime(last.started) + (last.outage ? " (outage)" : "") + "." : "No scans of " + d + " yet.");
    } catch (e) {
      setStatus("domain-status", "Cannot load " + d + ": " + e.message, true);
      if (e.status === 401 || e.status === 403) $("keybox").hidden = false;
    }
  }

  async function loadTimeline(focus) {
    const d = domainState.d;
    const p = new URLSearchParams({ domain: d, limit: "2000" });
    if (domainState.cursor) p.set("cursor", domainState.cursor);
    const ans = await api("/api/v1/events?" + p.toString());
    domainState.cursor = ans.cursor || "";
    // Group by scan (events come newest first; a scan's own in seq order).
    const groups = [];
    for (const e of ans.events) {
      let g = groups[groups.length - 1];
      if (!g || g.id !== e.scan_id) { g = { id: e.scan_id, evs: [] }; groups.push(g); }
      g.evs.unshift(e);
    }
    const tbody = $("timeline").tBodies[0];
    for (const g of groups) {
      const i = domainState.byID[g.id];
      const sc = i === undefined ? null : domainState.scans[i];
      const older = i === undefined ? null : domainState.scans[i + 1];
      const head = el("tr", { class: "scan-head" + (g.id === focus ? " focus" : ""), "data-scan": g.id }, [
        el("td", { colspan: "5" }, [document.createTextNode("Scan "), sc ? scanLabel(sc) : document.createTextNode(g.id)]),
      ]);
      tbody.appendChild(head);
      for (const l of timelineLines(sc, g.evs, older)) {
        const cls = "ev-" + l.kind.replace(/^finding-/, "") + " sev-" + l.severity;
        tbody.appendChild(el("tr", { class: cls, "data-kind": l.kind, "data-subject": l.subject || "", "data-scan": g.id }, [
          el("td", { class: "time", text: isoTime(sc ? sc.started : g.evs[0].time) }),
          el("td", { class: "kind", text: l.text }),
          el("td", { class: "sev", text: l.severity }),
          el("td", null, [subjectCell(l.subject)]),
          el("td", { class: "detail", text: (l.finding ? l.finding + ": " : "") + (l.detail || "") }),
        ]));
      }
      if (g.id === focus) head.scrollIntoView();
    }
    $("timeline").hidden = tbody.rows.length === 0;
    $("timeline-more").hidden = !domainState.cursor;
  }

  function renderLifecycle(states) {
    const tbody = $("lifecycle").tBodies[0];
    tbody.replaceChildren();
    const order = (s) => (s.state === "open" ? 0 : 1);
    states.sort((a, b) => order(a) - order(b) || SEVS.indexOf(a.finding.severity) - SEVS.indexOf(b.finding.severity));
    for (const s of states) {
      const f = s.finding;
      tbody.appendChild(el("tr", { class: "sev-" + f.severity + " state-" + s.state, "data-key": s.key }, [
        el("td", { class: "sev", text: f.severity }),
        el("td", null, [el("strong", { text: f.title || f.id }), el("div", { class: "muted", text: f.id })]),
        el("td", null, [subjectCell(f.subject)]),
        el("td", { class: "state", text: s.state + (s.reopened ? " (reopened " + s.reopened + "×)" : "") }),
        el("td", { class: "time", text: isoTime(s.first_seen) }),
        el("td", { class: "time", text: isoTime(s.last_seen) }),
        el("td", { class: "time resolved", text: isoTime(s.resolved_at) }),
      ]));
    }
    $("lifecycle").hidden = states.length === 0;
  }

  function renderDiffForm(scans, focus) {
    const usable = scans.filter((s) => !s.outage);
    const fill = (sel, pick) => {
      sel.replaceChildren();
      for (const s of usable) sel.appendChild(el("option", { value: s.id, text: isoTime(s.started) + (s.complete ? "" : " (partial)") }));
      if (pick) sel.value = pick;
    };
    fill($("diff-from"), usable[1] && usable[1].id);
    fill($("diff-to"), focus && domainState.byID[focus] !== undefined ? focus : usable[0] && usable[0].id);
    $("diff-form").hidden = usable.length < 2;
  }

  async function showDiff(d, from, to) {
    const a = $("diff-domain");
    a.textContent = d;
    a.setAttribute("href", domainHash(d));
    $("diff-body").replaceChildren();
    setStatus("diff-status", "Comparing…");
    try {
      const ans = await api("/api/v1/scans/" + encodeURIComponent(from) + "/diff/" + encodeURIComponent(to));
      setStatus("diff-status", "From the scan of " + isoTime(ans.from.started) + " to the scan of " + isoTime(ans.to.started) + ".");
      const df = ans.diff || {};
      const parts = [
        ["Names that appeared", df.names_added], ["Names that vanished", df.names_removed],
        ["Nameservers added", df.nameservers_added], ["Nameservers removed", df.nameservers_removed],
        ["Records added", (df.records_added || []).map((r) => r.name + " " + r.type + " " + r.data)],
        ["Records removed", (df.records_removed || []).map((r) => r.name + " " + r.type + " " + r.data)],
        ["Findings opened", (df.findings_added || []).map((f) => f.severity + " " + f.id + ": " + f.subject)],
        ["Findings resolved", (df.findings_removed || []).map((f) => f.severity + " " + f.id + ": " + f.subject)],
        ["Findings whose severity changed", (df.findings_changed || []).map((f) => f.severity + " " + f.id + ": " + f.subject)],
      ];
      let any = false;
      for (const [title, items] of parts) {
        if (!items || !items.length) continue;
        any = true;
        $("diff-body").appendChild(el("h3", { text: title + " (" + items.length + ")" }));
        $("diff-body").appendChild(el("ul", { "data-part": title }, items.map((x) => el("li", { text: x }))));
      }
      if (!any) $("diff-body").appendChild(el("p", { class: "muted", text: "The two scans saw the same." }));
    } catch (e) {
      setStatus("diff-status", "Cannot compare: " + e.message, true);
    }
  }

  // ---------------------------------------------------------------- routing

  function show(page) {
    for (const p of ["search", "recon", "watch", "domain", "diff"]) $("page-" + p).hidden = page !== p;
    $("nav-search").classList.toggle("active", page === "search");
    $("nav-recon").classList.toggle("active", page === "recon");
    $("nav-watch").classList.toggle("active", page === "watch" || page === "domain" || page === "diff");
  }

  function route() {
    const h = window.location.hash || "#/search";
    const [path, query] = h.slice(1).split("?");
    const p = new URLSearchParams(query || "");
    if (path === "/recon") {
      show("recon");
      if (state.info && !state.info.recon) {
        setStatus("recon-status", "The recon page is off on this server: start dnsscout serve with --resolver ADDR.", true);
        $("recon-button").disabled = true;
        return;
      }
      if (p.get("domain")) runRecon(p.get("domain"));
      return;
    }
    if (path === "/watch") {
      show("watch");
      showInventory();
      return;
    }
    if (path === "/watch/domain" && p.get("d")) {
      show("domain");
      showDomain(p.get("d"), p.get("scan") || "");
      return;
    }
    if (path === "/watch/diff" && p.get("d") && p.get("from") && p.get("to")) {
      show("diff");
      showDiff(p.get("d"), p.get("from"), p.get("to"));
      return;
    }
    show("search");
    if (p.get("q")) runSearch({ q: p.get("q"), side: p.get("side") || "rrset", type: p.get("type") || "" }, false);
  }

  function navigate(hash) {
    if (window.location.hash === hash) route();
    else window.location.hash = hash;
  }

  document.addEventListener("DOMContentLoaded", async () => {
    $("search-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = $("q").value.trim();
      if (q) navigate(searchHash(q, $("side").value, $("type").value));
    });
    $("recon-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const d = $("domain").value.trim();
      if (d) navigate("#/recon?" + new URLSearchParams({ domain: d }).toString());
    });
    $("watch-add").addEventListener("submit", addWatched);
    $("keybox").addEventListener("submit", (ev) => {
      ev.preventDefault();
      apiKey = $("apikey").value.trim();
      try { window.localStorage.setItem(KEY, apiKey); } catch (e) { /* private mode */ }
      route();
    });
    $("typefilter").addEventListener("change", renderResults);
    $("diff-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      navigate("#/watch/diff?" + new URLSearchParams({ d: domainState.d, from: $("diff-from").value, to: $("diff-to").value }).toString());
    });
    $("timeline-more").addEventListener("click", () => { loadTimeline(""); });
    $("more").addEventListener("click", () => { if (state.params) runSearch(state.params, true); });
    for (const th of $("results").tHead.rows[0].cells) {
      if (!th.dataset.key) continue;
      th.tabIndex = 0;
      const sort = () => {
        if (state.sortKey === th.dataset.key) state.sortDir = -state.sortDir;
        else { state.sortKey = th.dataset.key; state.sortDir = th.dataset.key === "count" || th.dataset.key === "last" || th.dataset.key === "first" ? -1 : 1; }
        renderResults();
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sort(); } });
    }
    window.addEventListener("hashchange", route);
    try {
      state.info = await api("/api/v1/info");
      $("version").textContent = state.info.version ? "v" + state.info.version : "";
      $("keybox").hidden = !state.info.auth_required;
      if (apiKey) $("apikey").value = apiKey;
      if (!state.info.recon) $("nav-recon").classList.add("off");
    } catch (e) {
      setStatus("status", "Cannot reach the server: " + e.message, true);
    }
    document.body.dataset.ready = "1";
    route();
  });
})();
