# The two commands of the README: `make run` and `make test`.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/pressluft/pressluft.Version=$(VERSION)
# The node agent: static, for every architecture nodes may have, embedded in
# the control plane (agent/dist) so that it can install itself on nodes.
AGENT_LDFLAGS := -s -w -X github.com/pressluft/pressluft/nodeagent.Version=$(VERSION)
AGENT_ARCHS := amd64 arm64
DATA_DIR ?= $(CURDIR)/.data
LISTEN ?= 127.0.0.1:8080

.PHONY: build agents run demo demo-down test test-go test-php test-ansible test-web web e2e soak bench bench-backup bench-web bench-php fuzz fuzz-ci deps deps-test deps-e2e

## build: the control plane with the node agents embedded (bin/pressluft).
build: agents
	go build -ldflags '$(LDFLAGS)' -o bin/pressluft ./cmd/pressluft

agents:
	for arch in $(AGENT_ARCHS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch go build -trimpath -ldflags '$(AGENT_LDFLAGS)' \
			-o agent/dist/pressluft-agent-linux-$$arch ./cmd/pressluft-agent || exit 1; \
	done
	printf '%s\n' '$(VERSION)' > agent/dist/VERSION

## run: install what the control plane needs, build it and serve it with a development admin.
run: deps build
	DATA_DIR='$(DATA_DIR)' LISTEN='$(LISTEN)' scripts/run-dev.sh

## demo: the sandbox: a control plane, a disposable local node and a WordPress site on it. Needs root.
## Run again to reuse it; DEMO_FLAGS takes --listen ADDR or --data-dir DIR.
demo: agents
	@VERSION='$(VERSION)' scripts/demo.sh up $(DEMO_FLAGS)

## demo-down: remove the sandbox's node, host entries, control plane and data.
demo-down:
	@scripts/demo.sh down $(DEMO_FLAGS)

## test: unit and API tests (no root, no network once the packages are there).
test: deps-test test-go test-php test-ansible test-web

## web: rebuild the dashboard (web/dist, committed) from web/app and openapi.yaml. Needs Node.
web:
	cd web && NUXT_TELEMETRY_DISABLED=1 npm ci --no-audit --no-fund && NUXT_TELEMETRY_DISABLED=1 npm run generate

# The committed dashboard build matches its sources, its types match openapi.yaml,
# then Vitest and the browser suite (Chromium) against the real binary.
test-web:
	cd web && NUXT_TELEMETRY_DISABLED=1 npm ci --no-audit --no-fund
	cd web && npm run stale && npm run typecheck && npm run test:unit && npm run test:browser

test-go:
	go vet ./...
	go test -count=1 ./...

test-php:
	php nodeagent/helper/tests/run.php

# The playbooks parse. (The node agent's configs are checked by its golden tests.)
test-ansible:
	cd ansible && for p in playbooks/*.yml; do ANSIBLE_CONFIG=ansible.cfg ansible-playbook -i localhost, --syntax-check "$$p" >/dev/null || exit 1; done

## e2e: the real stack: disposable nodes, SSH, Ansible, nginx, PHP-FPM, MariaDB, WordPress. Needs root.
e2e: deps-e2e build
	go test -count=1 -tags e2e -timeout 75m -p 1 -v ./e2e/...

## soak: the crash soak alone: the control plane SIGKILLed SOAK_KILLS times (default 20) while jobs
## of every kind run on a disposable node (make e2e runs it with 3). PRESSLUFT_SOAK_SEED replays one.
SOAK_KILLS ?= 20
soak: deps-e2e build
	PRESSLUFT_SOAK_KILLS=$(SOAK_KILLS) go test -count=1 -tags e2e -timeout 60m -v -run '^TestCrashSoak$$' ./e2e/

## bench: prints the figures named in the issues (see bench/README.md).
bench:
	go test -run '^$$' -bench . -benchtime 1x ./bench/

## bench-backup: backup, offsite upload and restore of a 1 GB site (half database, half uploads)
## beside the same work done by hand on the node, on a disposable node; prints FIGURE lines.
bench-backup: deps-e2e build
	PRESSLUFT_BACKUP_FIGURE_MB=1000 go test -count=1 -tags e2e -timeout 60m -v \
		-run 'TestNodesAndSites/^(provision_a_bare_node|backups_and_restore)$$/^(figure.*)?$$' ./e2e/

## bench-web: the dashboard's first-load bytes and time to interactive with 200 sites (Chromium).
bench-web: deps-test
	cd web && NUXT_TELEMETRY_DISABLED=1 npm ci --no-audit --no-fund && node ../bench/dashboard.mjs

## fuzz: runs each fuzz target for FUZZTIME (default 10m); stops at the first failure,
## whose input Go writes to the package's testdata/fuzz/ (commit it: it joins the seed corpus).
FUZZTIME ?= 10m
FUZZ_TARGETS := .:FuzzValidate ./http:FuzzDecode ./http:FuzzRoutes ./ssh:FuzzHostKey ./ansible:FuzzFollow ./nodeagent:FuzzParseRequest
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name in $$pkg for $(FUZZTIME)"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg" || exit 1; \
	done

## fuzz-ci: every fuzz target briefly, as CI runs them. A count, not a duration: a duration's
## deadline can race a busy worker in Go's fuzz coordinator and fail with no input (go.dev/issue/75804).
fuzz-ci:
	$(MAKE) fuzz FUZZTIME=20000x

## bench-php: time per value of the node helper's search-replace on 1 MB and 5 MB adversarial values.
bench-php:
	php bench/search-replace.php

deps:
	scripts/install-deps.sh

deps-test:
	scripts/install-test-deps.sh

deps-e2e:
	scripts/install-e2e-deps.sh
