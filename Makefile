# The two commands of the README: `make run` and `make test`.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/pressluft/pressluft.Version=$(VERSION)
DATA_DIR ?= $(CURDIR)/.data
LISTEN ?= 127.0.0.1:8080

.PHONY: build run test test-go test-php test-ansible e2e bench deps deps-test deps-e2e

build:
	go build -ldflags '$(LDFLAGS)' -o bin/pressluft ./cmd/pressluft

## run: install what the control plane needs, build it and serve it with a development admin.
run: deps build
	DATA_DIR='$(DATA_DIR)' LISTEN='$(LISTEN)' scripts/run-dev.sh

## test: unit and API tests (no root, no network once the packages are there).
test: deps-test test-go test-php test-ansible

test-go:
	go vet ./...
	go test -count=1 ./...

test-php:
	php ansible/roles/helper/tests/run.php

# Playbooks parse, and the environment templates render to configs that PHP reads back.
test-ansible:
	cd ansible && for p in playbooks/*.yml; do ANSIBLE_CONFIG=ansible.cfg ansible-playbook -i localhost, --syntax-check "$$p" >/dev/null || exit 1; done
	ANSIBLE_NOCOLOR=1 ansible-playbook -i localhost, ansible/roles/env/tests/render.yml

## e2e: the real stack: disposable nodes, SSH, Ansible, nginx, PHP-FPM, MariaDB, WordPress. Needs root.
e2e: deps-e2e build
	go test -count=1 -tags e2e -timeout 75m -p 1 -v ./e2e/...

## bench: prints the figures named in the issues (see bench/README.md).
bench:
	go test -run '^$$' -bench . -benchtime 1x ./bench/

deps:
	scripts/install-deps.sh

deps-test:
	scripts/install-test-deps.sh

deps-e2e:
	scripts/install-e2e-deps.sh
