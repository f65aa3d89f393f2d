# The documented commands (README), as make targets.
.PHONY: build demo test docs fuzz bench-bruteforce bench-hostile bench-ingest bench-query bench-api bench-clickhouse soak-serve pgo

build:
	go build -o dnsscout ./cmd/dnsscout

demo:
	go run ./cmd/dnsscout demo

# Installs what the tests need, then vet, gofmt, go test -race ./..., fuzz smoke.
test:
	./scripts/test.sh

# Regenerates docs/checks.md from the checks' registry (go test fails while it is stale).
docs:
	go test ./internal/checks -run TestChecksDoc -update

fuzz:
	./scripts/fuzz-smoke.sh 30s

bench-bruteforce:
	./bench/bruteforce/run.sh

bench-hostile:
	go build -o /tmp/dnsscout-bench-hostile ./cmd/dnsscout
	go run ./bench/hostile -dnsscout /tmp/dnsscout-bench-hostile

bench-ingest:
	./bench/ingest/run.sh

# Rewrites cmd/dnsscout/default.pgo, the profile that builds optimize with (about a minute).
pgo:
	./bench/pgo/run.sh

bench-query:
	go run ./bench/query -dir /tmp/dnsscout-bench-query -n 10000000

bench-api:
	go run ./bench/api -dir /tmp/dnsscout-bench-query -n 10000000

# Hostile clients against a real serve while a well-behaved one measures (about 2 minutes).
soak-serve:
	./scripts/soak-serve.sh

bench-clickhouse:
	go run ./bench/clickhouse -n 500000
