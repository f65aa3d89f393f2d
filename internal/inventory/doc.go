// Package inventory examines many domains in one run: it reads a domain
// list (ReadList), runs the scan of each domain on one shared engine with a
// bounded number of domains in flight and a fair share of the query budget
// for each, and streams every domain's result to sinks as it finishes
// (NDJSON, one JSON file per domain, a store), keeping nothing after it is
// written. A journal lets a crashed or interrupted run resume with the
// domains not done. It does not discover or judge anything itself (package
// scan does), and it does not render reports (package report does).
package inventory
