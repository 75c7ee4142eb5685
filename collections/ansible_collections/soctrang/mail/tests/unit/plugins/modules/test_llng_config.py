"""soctrang.mail.llng_config on a real configuration folder (a temporary one), run as Ansible runs it.

The files are LemonLDAP::NG's File backend as liblemonldap-ng-common-perl 2.21 reads
it: lmConf-<n>.json, the highest number in use. The owner and group are the test's
own user (a test may not give files to www-data).
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import time
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.soctrang.mail.plugins.modules import llng_config

SECRETS = {
    "cookie_key": "k3Y-cookie-0123456789abcdefABCDEF",
    "ldap_bind_password": "Mật-khẩu-cn=sso-5b7e1c",
    "db_password": "db-pass-93f0a1c4d2",
    "oidc_signing_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
    "client:egov": "Bí-mật-của-cổng-egov-4f9c2a7e1b",
}
CONFIG: dict[str, Any] = {
    "portal": "https://sso.soctrang.gov.vn/",
    "domain": "",
    "key": "$secret:cookie_key",
    "authentication": "LDAP",
    "managerDn": "cn=sso,ou=services,dc=soctrang,dc=gov,dc=vn",
    "managerPassword": "$secret:ldap_bind_password",
    "globalStorageOptions": {
        "DataSource": "dbi:Pg:dbname=lemonldapng;host=127.0.0.1",
        "UserName": "lemonldapng",
        "Password": "$secret:db_password",
        "TableName": "sessions",
        "Commit": 1,
    },
    "oidcServicePrivateKeySig": "$secret:oidc_signing_key",
    "oidcRPMetaDataOptions": {
        "egov": {
            "oidcRPMetaDataOptionsDisplayName": "Cổng dịch vụ công tỉnh Sóc Trăng",
            "oidcRPMetaDataOptionsClientID": "egov",
            "oidcRPMetaDataOptionsClientSecret": "$secret:client:egov",
            "oidcRPMetaDataOptionsRedirectUris": "https://egov.soctrang.gov.vn/oidc/callback",
        }
    },
    "timeout": 28800,
}
# Debian's liblemonldap-ng-common-perl installs a demo configuration as number 1.
PACKAGE_DEMO = {"authentication": "Demo", "cfgAuthor": "The LemonLDAP::NG team", "cfgDate": "1627287638", "cfgNum": 1}


def rendered(config: dict[str, Any] = CONFIG, secrets: dict[str, str] = SECRETS) -> dict[str, Any]:
    return llng_config.substitute(config, secrets)


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "conf"
    folder.mkdir(mode=0o750)
    return folder


def arguments(folder: Path, config: dict[str, Any] = CONFIG, secrets: dict[str, str] = SECRETS, **more: Any) -> dict:
    return {
        "config": config,
        "secrets": secrets,
        "directory": str(folder),
        "owner": pwd.getpwuid(os.getuid()).pw_name,
        "group": grp.getgrgid(os.getgid()).gr_name,
        **more,
    }


def version(folder: Path, number: int) -> dict[str, Any]:
    return json.loads((folder / f"lmConf-{number}.json").read_text(encoding="utf-8"))


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def put_version(folder: Path, number: int, content: dict[str, Any]) -> None:
    path = folder / f"lmConf-{number}.json"
    path.write_text(json.dumps({**content, "cfgNum": number}, ensure_ascii=False), encoding="utf-8")
    path.chmod(0o640)


def every_secret_value() -> list[str]:
    return list(SECRETS.values())


# ---------------------------------------------------------------- writing


def test_the_first_run_writes_version_1_whole_with_the_secrets_in_place(conf_dir: Path, run_module) -> None:
    before = int(time.time())
    result = run_module(llng_config, arguments(conf_dir))

    assert result["changed"] is True
    assert (result["cfgNum"], result["written"], result["pruned"]) == (1, True, [])
    assert result["file"] == str(conf_dir / "lmConf-1.json")
    assert names(conf_dir) == ["lmConf-1.json"], "no temporary file and no lock left behind"
    written = version(conf_dir, 1)
    assert {key: written.pop(key) for key in ("cfgNum", "cfgAuthor", "cfgAuthorIP", "cfgLog")} == {
        "cfgNum": 1,
        "cfgAuthor": "ansible",
        "cfgAuthorIP": "127.0.0.1",
        "cfgLog": "soctrang.mail.llng_config",
    }
    assert before <= written.pop("cfgDate") <= int(time.time())
    assert written == rendered()
    assert written["globalStorageOptions"]["Password"] == SECRETS["db_password"]
    assert written["oidcRPMetaDataOptions"]["egov"]["oidcRPMetaDataOptionsClientSecret"] == SECRETS["client:egov"]
    status = (conf_dir / "lmConf-1.json").stat()
    assert (status.st_mode & 0o7777, status.st_uid, status.st_gid) == (0o640, os.getuid(), os.getgid())


def test_the_file_holds_utf8_as_lemonldap_ng_writes_it_itself(conf_dir: Path, run_module) -> None:
    run_module(llng_config, arguments(conf_dir))

    raw = (conf_dir / "lmConf-1.json").read_bytes()
    assert "Cổng dịch vụ công tỉnh Sóc Trăng".encode() in raw
    assert b"\\u" not in raw


def test_after_the_package_s_demo_the_first_version_is_2(conf_dir: Path, run_module) -> None:
    put_version(conf_dir, 1, PACKAGE_DEMO)

    result = run_module(llng_config, arguments(conf_dir))

    assert (result["changed"], result["cfgNum"]) == (True, 2)
    assert names(conf_dir) == ["lmConf-1.json", "lmConf-2.json"]
    assert version(conf_dir, 1)["authentication"] == "Demo"


def test_a_second_run_changes_nothing(conf_dir: Path, run_module) -> None:
    run_module(llng_config, arguments(conf_dir))
    first = (conf_dir / "lmConf-1.json").read_bytes()

    again = run_module(llng_config, arguments(conf_dir), diff=True)

    assert again["changed"] is False
    assert (again["cfgNum"], again["written"], again["pruned"]) == (1, False, [])
    assert "diff" not in again
    assert names(conf_dir) == ["lmConf-1.json"]
    assert (conf_dir / "lmConf-1.json").read_bytes() == first


def test_the_bookkeeping_keys_and_the_key_order_are_not_differences(conf_dir: Path, run_module) -> None:
    stored = {**dict(reversed(list(rendered().items()))), "cfgDate": 1, "cfgAuthor": "root(command-line-interface)"}
    stored |= {"cfgAuthorIP": "10.0.0.1", "cfgLog": "by hand", "cfgVersion": "2.21.2"}
    put_version(conf_dir, 7, stored)

    result = run_module(llng_config, arguments(conf_dir))

    assert (result["changed"], result["written"], result["cfgNum"]) == (False, False, 7)


def test_a_change_writes_the_next_version_and_keeps_the_previous(conf_dir: Path, run_module) -> None:
    run_module(llng_config, arguments(conf_dir))
    previous = (conf_dir / "lmConf-1.json").read_bytes()

    result = run_module(llng_config, arguments(conf_dir, config={**CONFIG, "timeout": 3600}))

    assert (result["changed"], result["cfgNum"], result["written"]) == (True, 2, True)
    assert version(conf_dir, 2)["timeout"] == 3600
    assert version(conf_dir, 2)["cfgNum"] == 2
    assert (conf_dir / "lmConf-1.json").read_bytes() == previous
    assert run_module(llng_config, arguments(conf_dir, config={**CONFIG, "timeout": 3600}))["changed"] is False


def test_a_new_secret_alone_is_a_change(conf_dir: Path, run_module) -> None:
    run_module(llng_config, arguments(conf_dir))

    result = run_module(llng_config, arguments(conf_dir, secrets={**SECRETS, "db_password": "rotated-7c1d"}))

    assert (result["changed"], result["cfgNum"]) == (True, 2)
    assert version(conf_dir, 2)["globalStorageOptions"]["Password"] == "rotated-7c1d"


def test_placeholders_are_replaced_in_any_string_at_any_depth(conf_dir: Path, run_module) -> None:
    config = {
        "customPluginsParams": {"soctrangChecks": ["plain", "user=cn=sso;password=$secret:ldap_bind_password"]},
        "twice": "$secret:cookie_key/$secret:cookie_key",
        "$secret:cookie_key": "keys are left alone",
        "number": 5,
    }
    run_module(llng_config, arguments(conf_dir, config=config))

    written = version(conf_dir, 1)
    assert written["customPluginsParams"]["soctrangChecks"] == [
        "plain",
        f"user=cn=sso;password={SECRETS['ldap_bind_password']}",
    ]
    assert written["twice"] == f"{SECRETS['cookie_key']}/{SECRETS['cookie_key']}"
    assert written["$secret:cookie_key"] == "keys are left alone"
    assert written["number"] == 5


def test_a_rendered_json_string_is_accepted_as_the_configuration(conf_dir: Path, run_module) -> None:
    result = run_module(llng_config, arguments(conf_dir, config=json.dumps(CONFIG, ensure_ascii=False)))

    assert result["cfgNum"] == 1
    assert without_meta(version(conf_dir, 1)) == rendered()


def without_meta(config: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in config.items() if not key.startswith("cfg")}


def test_the_newest_version_gets_its_owner_and_mode_back(conf_dir: Path, run_module) -> None:
    run_module(llng_config, arguments(conf_dir))
    (conf_dir / "lmConf-1.json").chmod(0o644)

    result = run_module(llng_config, arguments(conf_dir))

    assert (result["changed"], result["written"], result["cfgNum"]) == (True, False, 1)
    assert (conf_dir / "lmConf-1.json").stat().st_mode & 0o7777 == 0o640
    assert run_module(llng_config, arguments(conf_dir, mode="0600"))["changed"] is True
    assert (conf_dir / "lmConf-1.json").stat().st_mode & 0o7777 == 0o600


# ---------------------------------------------------------------- pruning


def test_only_the_newest_versions_are_kept(conf_dir: Path, run_module) -> None:
    for number in range(1, 13):
        put_version(conf_dir, number, {"timeout": number})

    result = run_module(llng_config, arguments(conf_dir, keep=3))

    assert (result["cfgNum"], result["written"]) == (13, True)
    assert result["pruned"] == [f"lmConf-{number}.json" for number in range(1, 11)]
    assert names(conf_dir) == ["lmConf-11.json", "lmConf-12.json", "lmConf-13.json"]


def test_keeping_one_keeps_the_newest_and_other_files_are_left_alone(conf_dir: Path, run_module) -> None:
    put_version(conf_dir, 1, PACKAGE_DEMO)
    (conf_dir / "lmConf-1.json.dpkg-old").write_text("{}")
    (conf_dir / "notes.txt").write_text("operator's notes")

    result = run_module(llng_config, arguments(conf_dir, keep=1))

    assert (result["cfgNum"], result["pruned"]) == (2, ["lmConf-1.json"])
    assert names(conf_dir) == ["lmConf-1.json.dpkg-old", "lmConf-2.json", "notes.txt"]


def test_a_lower_keep_prunes_without_writing(conf_dir: Path, run_module) -> None:
    for number in range(1, 5):
        put_version(conf_dir, number, {"timeout": number})
    put_version(conf_dir, 5, rendered())

    result = run_module(llng_config, arguments(conf_dir, keep=2))

    assert (result["changed"], result["written"], result["cfgNum"]) == (True, False, 5)
    assert names(conf_dir) == ["lmConf-4.json", "lmConf-5.json"]
    assert run_module(llng_config, arguments(conf_dir, keep=2))["changed"] is False


# ---------------------------------------------------------------- check mode


def test_check_mode_reports_and_writes_nothing(conf_dir: Path, run_module) -> None:
    result = run_module(llng_config, arguments(conf_dir), check_mode=True)

    assert (result["changed"], result["cfgNum"], result["written"]) == (True, 1, True)
    assert names(conf_dir) == []


def test_check_mode_reports_a_change_and_the_pruning_and_writes_nothing(conf_dir: Path, run_module) -> None:
    for number in range(1, 4):
        put_version(conf_dir, number, {"timeout": number})
    before = {name: (conf_dir / name).read_bytes() for name in names(conf_dir)}

    result = run_module(llng_config, arguments(conf_dir, keep=2), check_mode=True, diff=True)

    assert (result["changed"], result["cfgNum"], result["written"]) == (True, 4, True)
    assert result["pruned"] == ["lmConf-1.json", "lmConf-2.json"]
    assert {name: (conf_dir / name).read_bytes() for name in names(conf_dir)} == before
    assert "diff" in result


def test_check_mode_on_an_unchanged_configuration_is_unchanged(conf_dir: Path, run_module) -> None:
    run_module(llng_config, arguments(conf_dir))

    result = run_module(llng_config, arguments(conf_dir), check_mode=True)

    assert (result["changed"], result["cfgNum"]) == (False, 1)


# ---------------------------------------------------------------- the diff and the secrets


def test_the_diff_shows_placeholders_and_marks_a_changed_secret(conf_dir: Path, run_module) -> None:
    run_module(llng_config, arguments(conf_dir))
    new_secrets = {**SECRETS, "db_password": "rotated-7c1d"}

    result = run_module(
        llng_config, arguments(conf_dir, config={**CONFIG, "timeout": 3600}, secrets=new_secrets), diff=True
    )

    diff = result["diff"]
    assert (diff["before_header"], diff["after_header"]) == ("lmConf-1.json", "lmConf-2.json")
    before, after = json.loads(diff["before"]), json.loads(diff["after"])
    assert before == {**CONFIG}, "before: the stored version with its secrets as placeholders"
    assert after["globalStorageOptions"]["Password"] == "$secret:db_password (changed)"
    assert after["key"] == "$secret:cookie_key", "an unchanged secret is not marked"
    assert after["oidcRPMetaDataOptions"]["egov"]["oidcRPMetaDataOptionsClientSecret"] == "$secret:client:egov"
    assert (before["timeout"], after["timeout"]) == (28800, 3600)
    assert "cfgNum" not in before and "cfgNum" not in after
    assert "Cổng dịch vụ công" in diff["after"]


def test_no_secret_old_or_new_is_in_the_result(conf_dir: Path, run_module) -> None:
    old_secrets = {**SECRETS, "db_password": "old-db-pass-61aa", "client:egov": "old-egov-secret-0d2e"}
    removed = {
        **CONFIG["oidcRPMetaDataOptions"],
        "old-portal": {"oidcRPMetaDataOptionsClientSecret": "removed-client-secret-77b1"},
    }
    put_version(conf_dir, 3, rendered({**CONFIG, "oidcRPMetaDataOptions": removed}, old_secrets))

    result = run_module(llng_config, arguments(conf_dir), diff=True)

    text = json.dumps(result, ensure_ascii=False)
    for secret in [*every_secret_value(), "old-db-pass-61aa", "old-egov-secret-0d2e", "removed-client-secret-77b1"]:
        assert secret not in text
        assert json.dumps(secret)[1:-1] not in text
    # Masked by the module itself, not by Ansible's no_log scrubbing after the fact.
    assert "********" not in text
    before, after = json.loads(result["diff"]["before"]), json.loads(result["diff"]["after"])
    assert before["globalStorageOptions"]["Password"] == "$secret:db_password"
    assert after["globalStorageOptions"]["Password"] == "$secret:db_password (changed)"
    assert after["oidcRPMetaDataOptions"]["egov"]["oidcRPMetaDataOptionsClientSecret"] == (
        "$secret:client:egov (changed)"
    )
    assert before["oidcRPMetaDataOptions"]["old-portal"]["oidcRPMetaDataOptionsClientSecret"] == llng_config.HIDDEN
    assert after["key"] == "$secret:cookie_key"


def test_a_secret_inside_a_value_whose_text_changed_is_hidden(conf_dir: Path, run_module) -> None:
    config = {"DataSource": "dbi:Pg:host=db1;password=$secret:db_password"}
    put_version(conf_dir, 1, {"DataSource": "dbi:Pg:host=db0;password=old-db-pass-61aa"})

    result = run_module(llng_config, arguments(conf_dir, config=config, secrets=SECRETS), diff=True)

    assert "old-db-pass-61aa" not in json.dumps(result)
    assert json.loads(result["diff"]["before"])["DataSource"] == (
        "$secret:? (hidden: the new value holds $secret:db_password)"
    )


def test_the_diff_of_a_first_write_has_no_before(conf_dir: Path, run_module) -> None:
    diff = run_module(llng_config, arguments(conf_dir), diff=True)["diff"]

    assert (diff["before_header"], diff["before"]) == ("(no configuration)", "")
    assert json.loads(diff["after"]) == CONFIG


# ---------------------------------------------------------------- refusals


def test_a_placeholder_without_a_secret_is_an_error_that_names_it(conf_dir: Path, run_module) -> None:
    config = {**CONFIG, "samlServicePrivateKeySig": "$secret:saml_signing_key"}

    result = run_module(llng_config, arguments(conf_dir, config=config))

    assert result["failed"] is True
    assert result["msg"] == (
        "config has placeholders without a value in secrets: $secret:saml_signing_key at samlServicePrivateKeySig; "
        "add them to secrets (given: client:egov, cookie_key, db_password, ldap_bind_password, oidc_signing_key)"
    )
    assert names(conf_dir) == []


def test_an_unused_secret_is_a_warning(conf_dir: Path, run_module, monkeypatch: pytest.MonkeyPatch) -> None:
    # In this process (the controller's) a module's warning goes to Ansible's display, not into its result.
    warnings: list[str] = []
    monkeypatch.setattr(llng_config.AnsibleModule, "warn", lambda _module, warning, **_: warnings.append(warning))

    result = run_module(llng_config, arguments(conf_dir, secrets={**SECRETS, "spare": "unused-secret-42"}))

    assert warnings == ["secrets.spare is used by no placeholder of config"]
    assert "unused-secret-42" not in json.dumps(result)


@pytest.mark.parametrize(
    ("more", "message"),
    [
        ({"config": {**CONFIG, "cfgNum": 9}}, "config must not hold cfgNum: the module sets them; remove them"),
        ({"keep": 0}, "keep must be at least 1 (the newest version), got 0"),
        ({"mode": "rw-r-----"}, "mode must be octal permissions such as '0640', got 'rw-r-----'"),
        ({"owner": "no-such-user-soctrang"}, "owner 'no-such-user-soctrang' is no user of this host"),
        ({"secrets": {**SECRETS, "db_password": 1234}}, "secrets db_password must be text"),
    ],
    ids=["bookkeeping key", "keep", "mode", "owner", "secret not text"],
)
def test_wrong_options_are_refused_before_anything_is_written(
    conf_dir: Path, run_module, more: dict[str, Any], message: str
) -> None:
    result = run_module(llng_config, {**arguments(conf_dir), **more})

    assert result["failed"] is True
    assert result["msg"] == message
    assert names(conf_dir) == []


def test_a_missing_directory_is_an_error(tmp_path: Path, run_module) -> None:
    result = run_module(llng_config, arguments(tmp_path / "absent"))

    assert result["msg"] == (
        f"directory {tmp_path / 'absent'} does not exist (is liblemonldap-ng-common-perl installed?)"
    )


def test_a_damaged_newest_version_is_an_error_that_names_it(conf_dir: Path, run_module) -> None:
    (conf_dir / "lmConf-4.json").write_text('{"portal": ')

    result = run_module(llng_config, arguments(conf_dir))

    assert result["failed"] is True
    assert result["msg"].startswith(f"{conf_dir / 'lmConf-4.json'} cannot be read as JSON (")
    assert result["msg"].endswith("); repair or remove it")
    assert names(conf_dir) == ["lmConf-4.json"]


def test_a_save_in_progress_is_waited_for_then_refused(
    conf_dir: Path, run_module, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llng_config, "LOCK_WAIT_SECONDS", 0)
    (conf_dir / "lmConf.lock").write_text("4242")

    result = run_module(llng_config, arguments(conf_dir))

    assert result["failed"] is True
    assert result["msg"].startswith(f"{conf_dir / 'lmConf.lock'} exists: a configuration is being saved")
    assert names(conf_dir) == ["lmConf.lock"], "someone else's lock is not removed"
