"""The portal reads slapd's refusals of a new password as the webmail does.

tests/data/password_refusals.json holds slapd 2.6's and ppm's real answers with the
reason keys the reasons table gives for them. The table (group_vars/all/password_reasons.yml)
is rendered here by Ansible's own templating from the webmail role's template and from
the sso role's, which must give the same bytes (both call the filter
soctrang.mail.password_reasons_json); then the corpus must fit that table, and the portal's
reading of it (roles/sso/files/perl/Soctrang/SSO/Reasons.pm, a port of the webmail's
soctrang_password_reasons) must give every case its reasons and texts: its Perl test
runs on the rendered file. Where PHP is installed, the webmail's own reading is run on
the same corpus too, so that the two readings are shown to agree.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

REPO = Path(__file__).resolve().parent.parent
CORPUS = json.loads((REPO / "tests" / "data" / "password_refusals.json").read_text(encoding="utf-8"))["cases"]
TEMPLATE = REPO / "roles" / "webmail" / "templates" / "password-reasons.json.j2"
PORTAL_TEMPLATE = REPO / "roles" / "sso" / "templates" / "password-reasons.json.j2"
VARIABLE_FILES = [
    "group_vars/all/mail_domain.yml",
    "group_vars/all/password_policy.yml",
    "group_vars/all/password_reasons.yml",
    "roles/webmail/defaults/main.yml",
    "roles/webmail/vars/main.yml",
]
PERL_TESTS = REPO / "roles" / "sso" / "files" / "perl" / "t"
PHP_DRIVER = REPO / "roles" / "webmail" / "files" / "password" / "soctrang_ppolicy.php"
PHP_DIRECTORY = REPO / "roles" / "webmail" / "files" / "plugins" / "soctrang" / "soctrang_directory.php"
# The webmail's reading, outside Roundcube: rcube stands in for its error log.
PHP_READING = """
final class rcube { public static function raise_error($e) { fwrite(STDERR, $e['message'] . "\\n"); } }
require $argv[1];
require $argv[2];
$reasons = soctrang_password_reasons::load($argv[3]);
$answers = [];
foreach (json_decode(file_get_contents($argv[4]), true)['cases'] as $case) {
    $answers[] = ['keys' => $reasons->reasons_for($case['record'] + ['unreachable' => false], $case['new_password']),
                  'message' => $reasons->message_for($case['record'], $case['new_password'])];
}
echo json_encode($answers);
"""


def trusted(value: object) -> object:
    """Values as Ansible trusts its own inventory and role files: templates in them render."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value


@pytest.fixture(scope="module")
def province_variables() -> dict:
    variables: dict = {}
    for name in VARIABLE_FILES:
        variables.update(yaml.safe_load((REPO / name).read_text(encoding="utf-8")))
    return variables


def render(template: Path, variables: dict) -> str:
    templar = Templar(loader=DataLoader(), variables=trusted(variables))
    return templar.template(trust_as_template(template.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def rendered_table(province_variables: dict) -> dict:
    return json.loads(render(TEMPLATE, province_variables))


def test_the_portal_renders_the_webmails_file(province_variables: dict) -> None:
    assert render(PORTAL_TEMPLATE, province_variables) == render(TEMPLATE, province_variables)


def test_the_portals_disabled_text_is_dovecots(province_variables: dict) -> None:
    variables = dict(province_variables)
    variables.update(yaml.safe_load((REPO / "roles" / "dovecot" / "defaults" / "main.yml").read_text(encoding="utf-8")))
    refusals = json.loads(render(REPO / "roles" / "sso" / "templates" / "refusals.json.j2", variables))
    dovecot = " ".join(render_text(variables["dovecot_disabled_message"], variables).split())
    assert refusals == {"disabled": dovecot, "retired": dovecot}
    assert "{{" not in dovecot and render_text(variables["soctrang_support_address"], variables) in dovecot


def render_text(text: str, variables: dict) -> str:
    templar = Templar(loader=DataLoader(), variables=trusted(variables))
    return templar.template(trust_as_template(text))


def test_every_expected_reason_has_a_text(rendered_table: dict) -> None:
    texts = rendered_table["reasons"]
    for case in CORPUS:
        for key in case["expected"]:
            assert texts.get(key, "").strip(), f"{case['name']}: no text for {key}"


def test_the_corpus_meets_every_pattern_of_the_table(rendered_table: dict) -> None:
    expected = {key for case in CORPUS for key in case["expected"]}
    unmet = [pattern for pattern in rendered_table["patterns"] if pattern["reason"] not in expected]
    assert not unmet, unmet


def test_the_table_names_classes_with_slapds_characters(rendered_table: dict, province_variables: dict) -> None:
    # ppm's class lists (roles/slapd ppm.conf.j2) are the lists the missing class is named from.
    slapd_classes = province_variables["soctrang_password_character_classes"]
    assert [entry["characters"] for entry in rendered_table["classes"]] == list(slapd_classes.values())


def test_the_texts_state_the_policys_figures(rendered_table: dict, province_variables: dict) -> None:
    policy = province_variables["soctrang_password_policy"]
    texts = rendered_table["reasons"]
    assert f"ít nhất {policy['min_length']} ký tự" in texts["too_short"]
    assert f"{policy['history']} mật khẩu gần nhất" in texts["in_history"]
    assert f"{policy['lockout_duration_minutes']} phút" in texts["account_locked"]
    assert not any("{{" in text or "}}" in text for text in texts.values())


# perl and php-cli are in the Makefile's UNIT_PACKAGES: both readings always run here.
# reasons.t only: modules.t needs LemonLDAP::NG itself and runs inside sso1
# (make sso-perl-tests, part of make lab-checks).
def test_the_portals_reading_gives_the_corpus_reasons(rendered_table: dict, tmp_path: Path) -> None:
    table = tmp_path / "password-reasons.json"
    table.write_text(json.dumps(rendered_table, ensure_ascii=False), encoding="utf-8")
    env = dict(os.environ, SOCTRANG_PASSWORD_REASONS=str(table))
    proved = subprocess.run(
        ["prove", str(PERL_TESTS / "reasons.t")], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert proved.returncode == 0, proved.stdout + proved.stderr


def test_the_webmails_reading_gives_the_same_reasons(rendered_table: dict, tmp_path: Path) -> None:
    table = tmp_path / "password-reasons.json"
    table.write_text(json.dumps(rendered_table, ensure_ascii=False), encoding="utf-8")
    corpus = REPO / "tests" / "data" / "password_refusals.json"
    read = subprocess.run(
        ["php", "-r", PHP_READING, "--", str(PHP_DIRECTORY), str(PHP_DRIVER), str(table), str(corpus)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert read.returncode == 0 and not read.stderr, read.stdout + read.stderr
    texts = rendered_table["reasons"]
    for case, answer in zip(CORPUS, json.loads(read.stdout), strict=True):
        assert answer["keys"] == case["expected"], case["name"]
        assert answer["message"] == " ".join(texts[key] for key in case["expected"]), case["name"]
