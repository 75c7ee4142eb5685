# The operator's entry points. `bash tools/run <target>` installs make itself
# on a fresh machine and then runs the target here.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV        ?= .venv
PY          := $(VENV)/bin/python
BIN         := $(VENV)/bin
INVENTORY   ?= inventories/lab
INVENTORIES := $(patsubst %/directory/,%,$(wildcard inventories/*/directory/))
PLAYBOOKS   := $(wildcard playbooks/*.yml)
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

# ---------------------------------------------------------------- set-up
# Debian packages, installed when missing (dpkg-query), so that a fresh machine needs
# nothing by hand. Under a policy-rc.d answering 101 (written for the install only
# when the machine has none) no package starts its service: slapd is here for the
# tests' own throw-away server, never as this machine's directory; preseeded
# unconfigured, it makes no database either.
define apt_install
missing=(); \
for package in $(1); do \
  dpkg-query -W -f='$${Status}' "$$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$$package"); \
done; \
if (( $${#missing[@]} )); then \
  echo "apt: installing $${missing[*]}"; \
  if [ ! -e /usr/sbin/policy-rc.d ]; then \
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 0755 /usr/sbin/policy-rc.d; \
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT; \
  fi; \
  echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections; \
  export DEBIAN_FRONTEND=noninteractive; \
  apt-get update -qq; \
  apt-get install -y -qq --no-install-recommends "$${missing[@]}" >/dev/null; \
  if [[ " $${missing[*]} " == *" slapd "* ]] && [ -d /run/systemd/system ]; then systemctl disable --quiet slapd; fi; \
fi
endef

# python-ldap (requirements.txt) has no wheel: pip compiles it against these.
BUILD_PACKAGES := gcc libc6-dev python3-dev libldap2-dev libsasl2-dev
.PHONY: build-packages
build-packages:
	@$(call apt_install,$(BUILD_PACKAGES))

# The collection's unit tests start their own slapd (tests/unit/.../conftest.py);
# tests/test_browser_harness.py drives Debian's Chromium (the list of tools/lab/host-deps.sh);
# tests/test_password_refusals.py reads the reasons table with the portal's Perl
# (prove) and the webmail's PHP.
UNIT_PACKAGES := slapd ldap-utils chromium chromium-driver libnss3-tools perl php-cli
.PHONY: unit-packages
unit-packages:
	@$(call apt_install,$(UNIT_PACKAGES))

$(VENV)/.installed: requirements.txt | build-packages
	# --clear: a venv left half-made by an interrupted run (no pip yet) is made anew.
	[ -x $(BIN)/pip ] || python3 -m venv --clear $(VENV) 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && python3 -m venv --clear $(VENV); }
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

# The repository's collection on the virtualenv's import path, so that the tools and
# the tests import ansible_collections.soctrang.mail as Ansible does (no sys.path code).
COLLECTIONS_PTH = $(VENV)/.collections-pth
$(COLLECTIONS_PTH): $(VENV)/.installed
	$(PY) -c 'import sysconfig, pathlib; pathlib.Path(sysconfig.get_path("purelib"), "soctrang-collections.pth").write_text("$(CURDIR)/collections\n")'
	touch $@

.PHONY: venv
venv: $(VENV)/.installed $(COLLECTIONS_PTH) ## the controller's virtualenv from the pinned requirements

# ---------------------------------------------------------------- addresses
.PHONY: addresses
addresses: venv ## regenerate the address ledger of INVENTORY and print what changed
	$(PY) tools/addresses.py update $(INVENTORY)

.PHONY: addresses-check
addresses-check: venv ## fail when the ledger of INVENTORY is stale or inconsistent
	$(PY) tools/addresses.py check $(INVENTORY)

.PHONY: addresses-check-all
addresses-check-all: venv
	@for inv in $(INVENTORIES); do $(PY) tools/addresses.py check $$inv; done

.PHONY: import-roster
import-roster: venv ## import a staff roster: ROSTER=list.xlsx INTO=inventories/<env>/directory/<unit>.yml [ARGS=--dry-run]
	@test -n "$(ROSTER)" -a -n "$(INTO)" || { echo "usage: make import-roster ROSTER=<file.csv|.xlsx> INTO=<directory file> [ARGS='--dry-run ...']" >&2; exit 2; }
	$(PY) tools/import_roster.py "$(ROSTER)" --into "$(INTO)" $(ARGS)

# ---------------------------------------------------------------- lab (containers)
LAB_IMAGE ?= localhost/soctrang-trixie:latest

.PHONY: host-deps
host-deps: ## podman (runc), netavark, debootstrap and podman's settings for this host
	bash tools/lab/host-deps.sh

.PHONY: image
image: host-deps ## the lab's base image (debootstrap of trixie), rebuilt only when its recipe changed
	SOCTRANG_IMAGE=$(LAB_IMAGE) bash tools/lab/build-image.sh

# `make lab LAB_PEOPLE=5000` regenerates the lab roster at that size (and its ledger) first.
.PHONY: lab
lab: venv image $(if $(filter command line environment,$(origin LAB_PEOPLE)),roster) ## THE main command: lab containers (ldap1, mail1) provisioned by the site playbook
	$(BIN)/ansible-playbook -i inventories/lab/hosts.yml playbooks/lab.yml

.PHONY: lab-destroy
lab-destroy: ## remove the lab's containers and network (label soctrang.lab=make-lab); keeps the image
	bash tools/lab/remove-labelled.sh soctrang.lab=make-lab

.PHONY: lab-smoke
lab-smoke: venv ## real SMTP/IMAP/LDAP checks against the running lab: every state it holds on purpose (README)
	$(PY) tools/lab_smoke.py

.PHONY: sso-flow
sso-flow: venv ## OIDC code flows on the running lab's portal (sso1); must-change with a refused own name; disabled/locked refusals
	$(PY) tools/sso_flow.py
	$(PY) tools/sso_flow.py --must-change
	$(PY) tools/sso_flow.py --refusals

# The portal plugin's Perl tests where LemonLDAP::NG, Mouse and Net::LDAP are the
# real packages (modules.t skips without them), on the reasons table the role installed.
SSO_PERL_TESTS := /tmp/perl-tests
.PHONY: sso-perl-tests
sso-perl-tests: ## the portal plugin's Perl tests (prove) inside sso1, on its installed reasons table
	podman exec sso1 rm -rf $(SSO_PERL_TESTS)
	podman cp roles/sso/files/perl sso1:$(SSO_PERL_TESTS)
	podman cp tests/data/password_refusals.json sso1:$(SSO_PERL_TESTS)/password_refusals.json
	podman exec sso1 sh -c 'cd $(SSO_PERL_TESTS) && PERL5LIB=$(SSO_PERL_TESTS) \
	  SOCTRANG_PASSWORD_REASONS=/etc/lemonldap-ng/soctrang/password-reasons.json \
	  SOCTRANG_PASSWORD_REFUSALS=$(SSO_PERL_TESTS)/password_refusals.json prove t/'

.PHONY: lab-browser
lab-browser: venv ## a first day at the webmail in headless Chromium against the running lab; screenshots in build/webmail-journey/
	$(PY) tools/webmail_journey.py

# `make bench-mail BENCH_MAIL_COUNT=2000` for a shorter run.
BENCH_MAIL_COUNT ?= 10000
.PHONY: bench-mail
bench-mail: venv ## delivery benchmark of the running lab: small messages over SMTP to random mailboxes, msg/s to Maildir
	$(PY) tools/bench_mail.py --count $(BENCH_MAIL_COUNT)

# `make bench-logins BENCH_LOGINS_ARGS="--people 300 --clients 1,8"` for a shorter run.
BENCH_LOGINS_ARGS ?=
.PHONY: bench-logins
bench-logins: venv ## login benchmark of the running lab: IMAPS and SMTP AUTH per second, first and repeated, against the LDAP bind floor; a wrong-password flood
	$(PY) tools/bench_logins.py $(BENCH_LOGINS_ARGS)

# `make bench-webmail BENCH_WEBMAIL_ARGS="--people 100 --logins 20 --seconds 20 --no-send"` for a shorter run.
BENCH_WEBMAIL_ARGS ?=
.PHONY: bench-webmail
bench-webmail: venv ## webmail benchmark of the running lab: login to INBOX listed, 1 and 20 sessions, p50/p95; the 49 MiB upload and send
	$(PY) tools/bench_webmail.py $(BENCH_WEBMAIL_ARGS)

# Every scenario under molecule/, one after the other (2 cores). Leftovers of an
# interrupted run (containers and networks labelled soctrang.molecule=1) go first.
MOLECULE_SCENARIOS := $(patsubst molecule/%/molecule.yml,%,$(wildcard molecule/*/molecule.yml))

.PHONY: molecule
molecule: venv image ## every molecule scenario against real servers in containers
	bash tools/lab/remove-labelled.sh soctrang.molecule=1
	@for scenario in $(MOLECULE_SCENARIOS); do \
	  echo "== molecule test -s $$scenario"; \
	  NO_COLOR=1 ANSIBLE_NOCOLOR=1 $(BIN)/molecule test -s $$scenario || exit 1; \
	done

# ---------------------------------------------------------------- checks
.PHONY: lint
lint: venv ## yamllint, ansible-lint (production profile), ruff
	$(BIN)/yamllint --strict .
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --profile production --strict

.PHONY: syntax
syntax: venv ## ansible-playbook --syntax-check of every playbook, against every inventory
	@for inv in $(INVENTORIES); do for pb in $(PLAYBOOKS); do \
	  echo "syntax-check $$pb -i $$inv"; \
	  $(BIN)/ansible-playbook --syntax-check -i $$inv/hosts.yml $$pb >/dev/null; done; done

.PHONY: unit
unit: venv unit-packages ## the Python tests (filters, ledger, validation, importer, modules)
	$(BIN)/pytest -q

# ansible-test's validate-modules on the collection: every module's DOCUMENTATION, EXAMPLES
# and RETURN against its argument spec, as for a published collection (its results land in
# the collection's tests/output/). ansible-test runs it in a virtualenv of its own
# (~/.ansible/test/venv, requirements from PyPI), whose pip it bootstraps with a script from
# ci-files.testing.ansible.com - or, where that host is out of reach, with the copy saved as
# ~/.ansible/test/cache/get_pip_24_2.py.
COLLECTION_DIR := collections/ansible_collections/soctrang/mail
VENV_PYTHON_VERSION = $(shell $(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
.PHONY: sanity
sanity: venv ## ansible-test sanity validate-modules of the soctrang.mail collection (module docs against the code)
	cd $(COLLECTION_DIR) && $(CURDIR)/$(BIN)/ansible-test sanity --test validate-modules --python $(VENV_PYTHON_VERSION) --local

# The shared lab, converged once from nothing (any running lab is replaced), then
# once more, which must change nothing; then the checks that speak to it: the
# protocols (lab-smoke) and a first day at the webmail in the browser (lab-browser).
.PHONY: lab-checks
lab-checks: venv image ## a fresh lab, its second run changed=0, lab-smoke and lab-browser (part of make test)
	bash tools/lab/remove-labelled.sh soctrang.lab=make-lab
	$(BIN)/ansible-playbook -i inventories/lab/hosts.yml playbooks/lab.yml
	@mkdir -p build
	@$(BIN)/ansible-playbook -i inventories/lab/hosts.yml playbooks/lab.yml > build/lab-second-run.log \
	  || { tail -60 build/lab-second-run.log; exit 1; }
	@if grep -qE ' changed=[1-9]' build/lab-second-run.log; then \
	  grep -E '^(changed|TASK)' build/lab-second-run.log | grep -B1 '^changed' | head -40; \
	  echo "lab: the second run changed something (build/lab-second-run.log)"; exit 1; fi
	@echo "lab: the second run changed nothing"
	$(PY) tools/lab_smoke.py
	$(PY) tools/webmail_journey.py
	$(MAKE) --no-print-directory sso-flow sso-perl-tests

.PHONY: test
test: venv lint unit addresses-check-all syntax molecule lab-checks ## everything CI runs

# ---------------------------------------------------------------- lab roster
LAB_PEOPLE ?= 2000
.PHONY: roster
roster: venv ## regenerate the lab's synthetic roster (LAB_PEOPLE, default 2000) and its ledger
	$(PY) tools/generate_roster.py --people $(LAB_PEOPLE) --out inventories/lab/directory
	$(PY) tools/addresses.py update inventories/lab | tail -1

.PHONY: bench-addresses
bench-addresses: venv ## benchmark the address rules on 20,000 generated people
	$(PY) tools/bench_addresses.py --people 20000

BENCH_PEOPLE ?= 20000
.PHONY: bench-provisioning
bench-provisioning: venv image ## benchmark mailbox provisioning in a lab container (BENCH_PEOPLE, default 20000)
	$(PY) tools/bench_provisioning.py --people $(BENCH_PEOPLE)
