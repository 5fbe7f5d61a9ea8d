# The two commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
VENV := target/checkers-venv

.PHONY: help deps db run test build lint openapi conformance bench-planner bench-search bench-meetings bench-notify bench-privacy bench-shop bench-io

help:
	@echo "make run            start PostgreSQL if needed, migrate, seed the demo, serve on 127.0.0.1:8080"
	@echo "make test           every test of the workspace against a real PostgreSQL"
	@echo "make lint           rustfmt and clippy"
	@echo "make openapi        rewrite docs/openapi.json from the code"
	@echo "make conformance    schemathesis, every check, against a seeded server (part of make test)"
	@echo "make bench-planner  planner benchmark -> target/bench/planner.json"
	@echo "make bench-search   search benchmark -> target/bench/search.json"
	@echo "make bench-meetings meetings benchmark (2,000 participants in PostgreSQL) -> target/bench/meetings.json"
	@echo "make bench-notify   notification benchmark (100,000 emails, SIGKILLed workers, 10,000 SMS) -> target/bench/notify.json"
	@echo "make bench-privacy  privacy benchmark (archive, erasure, retention sweep on 100,000 persons) -> target/bench/privacy.json"
	@echo "make bench-shop     shop benchmark (200 buyers for the last 50 places, 10,000 webhooks) -> target/bench/shop.json"
	@echo "make bench-io       import and export of 100,000 persons (CSV, XLSX, against COPY) -> target/bench/io.json"

deps:
	@scripts/deps.sh

db: deps
	@scripts/db.sh

build: deps
	$(CARGO) build -p rdv

run: deps
	@set -e; url=$$(scripts/db.sh); export APP__DATABASE__OWNER_URL=$$url; \
	export DATABASE_URL=$$(scripts/app-url.sh $$url); \
	read smtp_port maildir <<< "$$(scripts/mail.sh)"; export APP__EMAIL__SMTP_PORT=$$smtp_port; \
	read sms_port sms_log <<< "$$(scripts/sms.sh)"; \
	export APP__SMS__SENDSMS_URL=http://127.0.0.1:$$sms_port/cgi-bin/sendsms; \
	paysim_port=$$(scripts/paysim.sh); export APP__SHOP__CARD_API_URL=http://127.0.0.1:$$paysim_port; \
	$(CARGO) build -p rdv; \
	target/debug/rdv migrate; \
	target/debug/rdv seed-demo; \
	echo "mail the platform sends: one file per message in $$maildir/new"; \
	echo "SMS the platform sends, as the network received them: $$sms_log"; \
	echo "card payments go to the payment-provider simulator at $$APP__SHOP__CARD_API_URL (docs/payment-simulator.md)"; \
	exec target/debug/rdv serve

test: deps $(VENV)/ready
	@set -e; url=$$(scripts/db.sh); export DATABASE_URL=$$url; \
	read smtp_port maildir <<< "$$(scripts/mail.sh)"; \
	export APP__EMAIL__SMTP_PORT=$$smtp_port RDV_MAILDIR=$$maildir; \
	read sms_port sms_log <<< "$$(scripts/sms.sh)"; \
	export APP__SMS__SENDSMS_URL=http://127.0.0.1:$$sms_port/cgi-bin/sendsms RDV_SMS_LOG=$$sms_log; \
	paysim_port=$$(scripts/paysim.sh); export APP__SHOP__CARD_API_URL=http://127.0.0.1:$$paysim_port; \
	scripts/drop-test-databases.sh "$$url"; \
	if command -v cargo-nextest >/dev/null; then \
	  $(CARGO) nextest run --workspace --no-fail-fast; \
	else \
	  $(CARGO) test --workspace --no-fail-fast; \
	fi; \
	$(MAKE) --no-print-directory conformance

# The virtual environment of the independent checkers (schemathesis, icalendar), from PyPI.
$(VENV)/ready: tests/checkers/requirements.txt
	@rm -rf $(VENV)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r tests/checkers/requirements.txt
	@touch $@

conformance: deps $(VENV)/ready
	@set -e; url=$$(scripts/db.sh); \
	$(CARGO) build -q -p rdv; \
	scripts/api-conformance.sh "$$url"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

openapi:
	$(CARGO) run -q -p rdv -- openapi > docs/openapi.json

bench-planner: deps
	$(CARGO) bench -p rdv-planner --bench planner --features baselines

bench-search: deps
	@set -e; url=$$(scripts/db.sh); export DATABASE_URL=$$url; \
	$(CARGO) bench -p rdv-search --bench search

bench-meetings: deps
	@set -e; url=$$(scripts/db.sh); export DATABASE_URL=$$url; \
	$(CARGO) bench -p rdv --bench meetings

bench-notify: deps
	@set -e; url=$$(scripts/db.sh); export DATABASE_URL=$$url; \
	scripts/sms.sh >/dev/null; \
	$(CARGO) bench -p rdv --bench notify

bench-privacy: deps
	@set -e; url=$$(scripts/db.sh); export DATABASE_URL=$$url; \
	$(CARGO) bench -p rdv --bench privacy

bench-io: deps
	@set -e; url=$$(scripts/db.sh); export DATABASE_URL=$$url; \
	$(CARGO) bench -p rdv --bench io

bench-shop: deps
	@set -e; url=$$(scripts/db.sh); export DATABASE_URL=$$url; \
	paysim_port=$$(scripts/paysim.sh); export APP__SHOP__CARD_API_URL=http://127.0.0.1:$$paysim_port; \
	$(CARGO) bench -p rdv --bench shop
