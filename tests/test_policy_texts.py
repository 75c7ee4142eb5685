"""Every text users read states the rules the servers enforce, from the same variables.

The real templates and variables of roles/dovecot, roles/postfix and roles/slapd
are rendered by Ansible itself (ansible-playbook on a small local playbook that
loads each role's defaults and vars through its own validate.yml), once with
the province's policy as group_vars ships it and once with every figure
changed through extra vars. Then each text must state the figures of the run,
and the changed run none of the shipped ones: a figure typed into a text (or a
program) instead of taken from its variable fails here.

What the texts are: Dovecot's refusal reasons (dovecot.conf), the password and
quota warnings (their JSON settings, filled in by the programs' own code), the
welcome message (filled in by soctrang.mail.dovecot_mailboxes), Postfix's
refusals (its texthash tables) and the slapd job's unit description.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import soctrang_notice
import soctrang_password_warning
import soctrang_quota_warning
import yaml
from ansible_collections.soctrang.mail.plugins.filter.mail_sizes import size_bytes
from ansible_collections.soctrang.mail.plugins.modules.dovecot_mailboxes import welcome_message

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = REPO / "roles" / "dovecot" / "files"
SHIPPED_POLICY = yaml.safe_load((REPO / "group_vars" / "all" / "password_policy.yml").read_text(encoding="utf-8"))[
    "soctrang_password_policy"
]
SHIPPED_LIMITS = yaml.safe_load((REPO / "group_vars" / "all" / "mailbox_limits.yml").read_text(encoding="utf-8"))
SHIPPED_DOMAIN = yaml.safe_load((REPO / "group_vars" / "all" / "mail_domain.yml").read_text(encoding="utf-8"))

# Every figure a text states, changed (min_length 12, history 10, 90 days, ...).
CHANGED = {
    "soctrang_password_policy": {
        **SHIPPED_POLICY,
        "min_length": 12,
        "require_special": False,
        "history": 10,
        "max_age_days": 90,
        "expire_warning_days": 10,
        "lockout_duration_minutes": 30,
    },
    "soctrang_mailbox_quota": "5GiB",
    "soctrang_attachment_limit": "25MiB",
    "soctrang_webmail_host": "thu.example.vn",
    "soctrang_support_address": "hotro@example.vn",
    "soctrang_support_phone": "0123 456 789",
}

PLAYBOOK = """\
- name: Render the texts of the roles as their tasks do
  hosts: all
  gather_facts: false
  vars:
    repo: {repo}
    out: "{out}/{{{{ inventory_hostname }}}}"
  tasks:
    - name: Load the dovecot role (defaults, vars, the facts validate.yml derives)
      ansible.builtin.include_role:
        name: dovecot
        tasks_from: validate.yml
        public: true

    - name: Render the dovecot templates that hold texts
      ansible.builtin.template:
        src: "{{{{ repo }}}}/roles/dovecot/templates/{{{{ item }}}}"
        dest: "{{{{ out }}}}/dovecot-{{{{ item | regex_replace('[.]j2$', '') }}}}"
        mode: "0600"
      loop: [dovecot.conf.j2, welcome.txt.j2, password-warning.json.j2, quota-warning.json.j2]

    - name: Write where the dovecot role installs the programs' settings
      ansible.builtin.copy:
        content: >-
          {{{{ {{'password_warning': dovecot_password_warning_config,
          'quota_warning': dovecot_quota_warning_config, 'sender': dovecot_postmaster_address,
          'welcome_quota_bytes': dovecot_quota_default_bytes | int}} | to_json }}}}
        dest: "{{{{ out }}}}/dovecot-paths.json"
        mode: "0600"

    - name: Load the postfix role
      ansible.builtin.include_role:
        name: postfix
        tasks_from: validate.yml
        public: true

    - name: Render the postfix tables that hold refusals
      ansible.builtin.template:
        src: "{{{{ repo }}}}/roles/postfix/templates/{{{{ item }}}}.j2"
        dest: "{{{{ out }}}}/postfix-{{{{ item }}}}"
        mode: "0600"
      loop: [retired-recipients, own-domain-senders]

    - name: Load the slapd role
      ansible.builtin.include_role:
        name: slapd
        tasks_from: validate.yml
        public: true

    - name: Render the slapd job's unit
      ansible.builtin.template:
        src: "{{{{ repo }}}}/roles/slapd/templates/etc/systemd/system/soctrang-password-expiry.service.j2"
        dest: "{{{{ out }}}}/slapd-soctrang-password-expiry.service"
        mode: "0600"
"""

# A placeholder for the roles' checks of the service passwords; nothing logs in with it.
SERVICE_PASSWORD = "x" * 32
RETIRED = [{"mail": "cu@soctrang.gov.vn", "owner": "stttt-0099"}]


def render(tmp: Path, runs: dict[str, dict]) -> dict[str, Path]:
    """One ansible-playbook run, one local host per entry of `runs` (its overrides of the
    province's variables, as inventory host variables: they rank above the top-level
    group_vars, as an inventory's own settings do); each host's folder of rendered files."""
    spool = tmp / "spool"
    (spool / "private").mkdir(parents=True)
    # The province's group_vars, as playbooks/group_vars gives them to every playbook.
    (tmp / "group_vars").symlink_to(REPO / "group_vars", target_is_directory=True)
    common = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "soctrang_ldap_uri": "ldaps://ldap.example.test",
        "soctrang_ldap_ca_certificate": "/etc/ssl/certs/example-ca.pem",
        "soctrang_ldap_service_passwords": dict.fromkeys(["dovecot", "postfix"], SERVICE_PASSWORD),
        "slapd_service_passwords": dict.fromkeys(["dovecot", "postfix", "sso", "webmail"], SERVICE_PASSWORD),
        "dovecot_postfix_spool": str(spool),
        # One retired address, so that its refusal is rendered: given as the desired
        # state (roles/postfix decodes its `retired`) and as the decoded list itself.
        "postfix_desired_state_json": json.dumps({"retired": RETIRED}),
        "postfix_retired_addresses": RETIRED,
    }
    hosts = {name: {**common, **overrides} for name, overrides in runs.items()}
    for name in runs:
        (tmp / "out" / name).mkdir(parents=True)
    (tmp / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}, allow_unicode=True), encoding="utf-8")
    (tmp / "texts.yml").write_text(PLAYBOOK.format(repo=REPO, out=tmp / "out"), encoding="utf-8")
    playbook = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) or "ansible-playbook"
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"))
    run = subprocess.run(
        [playbook, "-i", str(tmp / "hosts.yml"), str(tmp / "texts.yml")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return {name: tmp / "out" / name for name in runs}


def texts_of(out: Path) -> dict[str, str]:
    """What users read, each text as it reaches them (the programs fill in their fields)."""
    conf = (out / "dovecot-dovecot.conf").read_text(encoding="utf-8")
    reasons = re.findall(r"^\s*reason = (.*)$", conf, flags=re.MULTILINE)
    must_change = next(reason for reason in reasons if not reason.startswith("%{"))
    locked, disabled = re.search(
        r"if\('eq', 'active', '(.*)', '(.*)'\)\}$", next(r for r in reasons if r.startswith("%{"))
    ).groups()
    quota_exceeded = re.search(r"^quota_exceeded_message = (.*)$", conf, flags=re.MULTILINE).group(1)

    paths = json.loads((out / "dovecot-paths.json").read_text(encoding="utf-8"))
    due = soctrang_password_warning.Due(mail="nvan@soctrang.gov.vn", left=3, due=datetime(2026, 6, 30, tzinfo=UTC))
    password = soctrang_password_warning.read_settings(str(out / "dovecot-password-warning.json"))
    password_message = password.notice.message(due.mail, soctrang_password_warning.notice_fields(due))
    quota = soctrang_quota_warning.read_notice(str(out / "dovecot-quota-warning.json"))
    quota_message = quota.message(due.mail, {"percent": "80", "user": due.mail})
    account = {"mail": due.mail, "name": "Nguyễn Văn An", "quota_bytes": paths["welcome_quota_bytes"]}
    welcome = welcome_message(
        account, paths["sender"], "Chào mừng", (out / "dovecot-welcome.txt").read_text(encoding="utf-8")
    )

    def table_lines(name: str) -> str:
        lines = (out / name).read_text(encoding="utf-8").splitlines()
        return "\n".join(line for line in lines if line and not line.startswith("#"))

    unit = (out / "slapd-soctrang-password-expiry.service").read_text(encoding="utf-8")
    texts = {
        "must_change": must_change,
        "locked": locked,
        "disabled": disabled,
        "quota_exceeded": quota_exceeded,
        "password_warning": password_message["Subject"] + "\n" + password_message.get_content(),
        "quota_warning": quota_message["Subject"] + "\n" + quota_message.get_content(),
        "welcome": welcome.get_content(),
        "postfix_retired": table_lines("postfix-retired-recipients"),
        "postfix_own_domain": table_lines("postfix-own-domain-senders"),
        "slapd_unit": re.search(r"^Description=(.*)$", unit, flags=re.MULTILINE).group(1),
    }
    # A phrase may be wrapped over two lines of a letter.
    return {name: " ".join(text.split()) for name, text in texts.items()}


def figures(settings: dict) -> dict[str, tuple[str, list[str]]]:
    """Each rule: the phrase that states it for `settings`, and the texts that must state it."""
    policy = settings["soctrang_password_policy"]
    classes = [
        name
        for name, required in (
            ("chữ hoa", policy["require_upper"]),
            ("chữ thường", policy["require_lower"]),
            ("chữ số", policy["require_digit"]),
            ("ký tự đặc biệt", policy["require_special"]),
        )
        if required
    ]
    gib, mib = 1024**3, 1024**2
    quota = size_bytes(settings["soctrang_mailbox_quota"])
    attachment = size_bytes(settings["soctrang_attachment_limit"])
    webmail = f"https://{settings['soctrang_webmail_host']}"
    support = settings["soctrang_support_address"]
    return {
        "min_length": (rf"(?<!\d){policy['min_length']} ký tự", ["welcome", "password_warning"]),
        "classes": (", ".join(classes[:-1]) + " và " + classes[-1], ["welcome", "password_warning"]),
        "history": (rf"(?<!\d){policy['history']} mật khẩu gần nhất", ["welcome", "password_warning"]),
        "max_age": (rf"(?<!\d){policy['max_age_days']} ngày", ["welcome", "password_warning", "must_change"]),
        "max_age_days_unit": (rf"(?<!\d){policy['max_age_days']} days", ["slapd_unit"]),
        "lockout": (rf"(?<!\d){policy['lockout_duration_minutes']} phút", ["locked"]),
        "attachment": (rf"(?<!\d){attachment // mib} MB", ["welcome"]),
        "quota": (rf"(?<!\d){quota // gib} GB", ["welcome"]),
        "webmail": (re.escape(webmail), ["welcome", "password_warning", "quota_warning", "must_change"]),
        "support": (
            re.escape(support),
            ["welcome", "password_warning", "quota_warning", "must_change", "locked", "disabled", "postfix_retired"],
        ),
        "support_phone": (re.escape(settings["soctrang_support_phone"]), ["welcome"]),
    }


SHIPPED = {
    "soctrang_password_policy": SHIPPED_POLICY,
    "soctrang_mailbox_quota": SHIPPED_LIMITS["soctrang_mailbox_quota"],
    "soctrang_attachment_limit": SHIPPED_LIMITS["soctrang_attachment_limit"],
    **{
        name: str(SHIPPED_DOMAIN[name]).replace("{{ soctrang_mail_domain }}", SHIPPED_DOMAIN["soctrang_mail_domain"])
        for name in ("soctrang_webmail_host", "soctrang_support_address", "soctrang_support_phone")
    },
}
# The regulation's own wording of a figure ("every 6 months"), which no text may write again.
SHIPPED_WORDING = [r"6 tháng"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    # "shipped": group_vars as the repository ships them; "changed": every figure overridden.
    return render(tmp_path_factory.mktemp("texts"), {"shipped": {}, "changed": CHANGED})


@pytest.fixture(scope="module")
def shipped(rendered: dict[str, Path]) -> Path:
    return rendered["shipped"]


@pytest.fixture(scope="module")
def changed(rendered: dict[str, Path]) -> Path:
    return rendered["changed"]


def test_the_shipped_texts_state_the_shipped_policy(shipped: Path) -> None:
    texts = texts_of(shipped)
    for rule, (phrase, where) in figures(SHIPPED).items():
        for name in where:
            assert re.search(phrase, texts[name]), f"{name} does not state {rule} ({phrase}):\n{texts[name]}"


def test_every_text_states_the_changed_policy(changed: Path) -> None:
    texts = texts_of(changed)
    for rule, (phrase, where) in figures(CHANGED).items():
        for name in where:
            assert re.search(phrase, texts[name]), f"{name} does not state {rule} ({phrase}):\n{texts[name]}"


def test_no_text_keeps_a_figure_of_the_shipped_policy(changed: Path) -> None:
    texts = texts_of(changed)
    old = [phrase for phrase, _ in figures(SHIPPED).values()] + SHIPPED_WORDING
    found = [
        f"{name}: {match.group(0)!r} (from {phrase})"
        for name, text in texts.items()
        for phrase in old
        for match in [re.search(phrase, text)]
        if match
    ]
    assert not found, "hard-coded figures of the shipped policy:\n" + "\n".join(found)


def test_a_rule_the_policy_drops_is_not_stated(changed: Path) -> None:
    # require_special is false in the changed policy: no text may still ask for it.
    texts = texts_of(changed)
    assert "chữ hoa, chữ thường và chữ số" in texts["welcome"]
    assert all("đặc biệt" not in text for text in texts.values())


@pytest.mark.parametrize("run", ["shipped", "changed"])
def test_the_rendered_settings_pass_the_programs_own_check(run: str, request: pytest.FixtureRequest) -> None:
    out: Path = request.getfixturevalue(run)
    for program, settings in (
        ("soctrang_password_warning.py", "dovecot-password-warning.json"),
        ("soctrang_quota_warning.py", "dovecot-quota-warning.json"),
    ):
        check = subprocess.run(
            [sys.executable, str(PROGRAMS / program), "--check-config", str(out / settings)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stderr


def test_the_programs_read_the_settings_where_the_role_installs_them(shipped: Path) -> None:
    paths = json.loads((shipped / "dovecot-paths.json").read_text(encoding="utf-8"))
    assert paths["password_warning"] == soctrang_password_warning.CONFIG
    assert paths["quota_warning"] == soctrang_quota_warning.CONFIG


def test_the_changed_policy_reaches_the_warning_job(changed: Path) -> None:
    settings = soctrang_password_warning.read_settings(str(changed / "dovecot-password-warning.json"))
    assert settings.max_age_days == 90
    assert settings.notice.sender_name and soctrang_notice.placeholders(settings.notice.subject) == {"left"}


def test_the_warnings_begin_when_the_policy_says(shipped: Path, changed: Path) -> None:
    """The first warning comes on the policy's expire_warning_days (14, then 10), then the fixed steps inside it."""
    first = soctrang_password_warning.read_settings(str(shipped / "dovecot-password-warning.json"))
    assert first.warn_days == [SHIPPED_POLICY["expire_warning_days"], 7, 3, 1] == [14, 7, 3, 1]
    later = soctrang_password_warning.read_settings(str(changed / "dovecot-password-warning.json"))
    assert later.warn_days == [CHANGED["soctrang_password_policy"]["expire_warning_days"], 7, 3, 1] == [10, 7, 3, 1]
