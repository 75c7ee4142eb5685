#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ansible-test validate-modules wants DOCUMENTATION, EXAMPLES and RETURN above the imports:
# ruff: noqa: E402
"""Own the LemonLDAP::NG configuration: a new lmConf-<n>.json only when its content differs."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: llng_config
short_description: Write the whole C(LemonLDAP::NG) configuration as a new version when it differs
description:
  - Runs on the SSO host as root. C(LemonLDAP::NG) 2.21 with the C(File) configuration backend
    keeps every version of its configuration as C(lmConf-<n>.json) in O(directory) and uses
    the highest C(n); it notices a new configuration by its number only, never a changed
    file under the same number.
  - Reads the newest C(lmConf-<n>.json) and compares it with O(config), both without the
    bookkeeping keys C(cfgNum), C(cfgDate), C(cfgAuthor), C(cfgAuthorIP), C(cfgLog) and
    C(cfgVersion) and in canonical JSON (sorted keys). Equal - nothing is written. Different -
    C(lmConf-<n+1>.json) is written whole (a temporary file in O(directory), owner, group and
    mode set, then renamed over), with C(cfgNum) n+1, C(cfgAuthor) C(ansible) and C(cfgDate)
    now; while writing, the module holds C(lmConf.lock), the lock that the C(LemonLDAP::NG)
    manager and C(lemonldap-ng-cli) respect.
  - Every string of O(config), at any depth, may hold placeholders C($secret:<name>), which
    are replaced by O(secrets[name]) before the comparison and the write. A placeholder
    without a secret stops the module, naming it. Keys are never substituted.
  - The versions beyond the O(keep) newest are removed (never the newest), also when nothing
    else changes. The newest version gets O(owner), O(group) and O(mode).
  - The secrets never leave the host - not in the result, not in the diff. C(--diff) shows
    the configuration before and after as JSON with C($secret:<name>) in place of every
    secret; a secret whose value changes shows as "$secret:<name> (changed)".
  - C(--check) reports what would change and writes nothing.
version_added: "1.0.0"
author: Sóc Trăng provincial mail operators (!UNKNOWN)
options:
  config:
    description:
      - The whole C(LemonLDAP::NG) configuration, without the bookkeeping keys (C(cfgNum) and the
        others above are set by the module; giving one is an error).
      - A JSON string (a rendered C(lmconf.json.j2)) is accepted too.
    type: dict
    required: true
  secrets:
    description: The value of every C($secret:<name>) placeholder of O(config), by name.
    type: dict
    default: {}
  directory:
    description: The File backend's C(dirName) (C(lemonldap-ng.ini), section C([configuration])).
    type: path
    default: /var/lib/lemonldap-ng/conf
  keep:
    description: How many versions to keep, the new one included (at least 1).
    type: int
    default: 10
  owner:
    description: Owner of the written version (the FastCGI server runs as www-data).
    type: str
    default: www-data
  group:
    description: Group of the written version.
    type: str
    default: www-data
  mode:
    description: Permissions of the written version, octal (a string such as C("0640")).
    type: raw
    default: "0640"
notes:
  - Supports check mode and diff mode.
  - C(LemonLDAP::NG) reloads a new version within C(checkTime) seconds; a restart makes it
    take effect at once.
"""

EXAMPLES = r"""
- name: LemonLDAP::NG configuration
  soctrang.mail.llng_config:
    config: "{{ lookup('ansible.builtin.template', 'lmconf.json.j2') }}"
    secrets:
      cookie_key: "{{ sso_cookie_key }}"
      ldap_bind_password: "{{ sso_ldap_bind_password }}"
      db_password: "{{ sso_db_password }}"
      oidc_signing_key: "{{ sso_oidc_signing_key }}"
      saml_signing_key: "{{ sso_saml_signing_key }}"
      client:egov: "{{ sso_client_secrets.egov }}"
  notify: Restart LemonLDAP::NG
"""

RETURN = r"""
cfgNum:
  description: Number of the newest version after the run (in check mode, the one that would be written).
  type: int
  returned: always
file:
  description: Path of that version.
  type: str
  returned: always
written:
  description: Whether a new version was (or in check mode would be) written.
  type: bool
  returned: always
pruned:
  description: File names of the old versions removed (in check mode, that would be removed).
  type: list
  elements: str
  returned: always
"""


import grp
import json
import os
import pwd
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule

META_KEYS = ("cfgNum", "cfgDate", "cfgAuthor", "cfgAuthorIP", "cfgLog", "cfgVersion")
# A name is words of letters, digits, '_' and '-' joined by ':' (client:egov).
PLACEHOLDER = re.compile(r"\$secret:([A-Za-z0-9_-]+(?::[A-Za-z0-9_-]+)*)")
# What the File backend lists (Common/Conf/Backends/File.pm available()); a temporary file
# starts with '.', so LemonLDAP::NG never takes it for a version.
VERSION_FILE = re.compile(r"^lmConf-(\d+)\.json$")
LOCK_FILE = "lmConf.lock"
LOCK_WAIT_SECONDS = 2  # as long as LemonLDAP::NG itself waits for its lock
AUTHOR = "ansible"
# Keys whose value is a secret in LemonLDAP::NG's configuration. Only for the diff's
# "before": a secret the new configuration no longer has is hidden, not shown.
SECRET_KEY = re.compile(r"(?:Password|Secret|PrivateKey\w*|Pwd)$|^(?:key|password|secret)$")
HIDDEN = "$secret:? (hidden: not in the new configuration)"


class ConfigError(Exception):
    """The configuration cannot be written; the message is the module's answer."""


# ---------------------------------------------------------------- placeholders


def _strings(value: object, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, string) of every string value, at any depth."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def check_placeholders(config: Mapping[str, Any], secrets: Mapping[str, Any]) -> list[str]:
    """Warnings for unused secrets; ConfigError for placeholders without a secret or secrets that are not text."""
    used: dict[str, list[str]] = {}
    for path, text in _strings(config):
        for name in PLACEHOLDER.findall(text):
            used.setdefault(name, []).append(path)
    unknown = sorted(name for name in used if name not in secrets)
    if unknown:
        where = "; ".join(f"$secret:{name} at {', '.join(used[name])}" for name in unknown)
        raise ConfigError(
            f"config has placeholders without a value in secrets: {where}; add them to secrets "
            f"(given: {', '.join(sorted(secrets)) or 'none'})"
        )
    not_text = sorted(name for name in used if not isinstance(secrets[name], str))
    if not_text:
        raise ConfigError(f"secrets {', '.join(not_text)} must be text")
    return [f"secrets.{name} is used by no placeholder of config" for name in sorted(set(secrets) - set(used))]


def substitute(value: Any, secrets: Mapping[str, str]) -> Any:
    """`value` with every placeholder replaced by its secret."""
    if isinstance(value, Mapping):
        return {key: substitute(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, secrets) for item in value]
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda found: secrets[found.group(1)], value)
    return value


def _template_pattern(template: str) -> tuple[list[str], re.Pattern[str]]:
    """The placeholders of `template` and a pattern whose groups catch their values in a rendered string."""
    names, parts, position = [], [], 0
    for found in PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position : found.start()]) + "(.*?)")
        names.append(found.group(1))
        position = found.end()
    parts.append(re.escape(template[position:]))
    return names, re.compile("".join(parts), re.DOTALL)


def stored_secrets(template: Any, stored: Any) -> list[tuple[str, str]]:
    """(name, value) of every secret that `stored` holds where `template` has its placeholder."""
    found: list[tuple[str, str]] = []
    if isinstance(template, Mapping) and isinstance(stored, Mapping):
        for key, item in template.items():
            if key in stored:
                found += stored_secrets(item, stored[key])
    elif isinstance(template, list) and isinstance(stored, list):
        for item, stored_item in zip(template, stored, strict=False):
            found += stored_secrets(item, stored_item)
    elif isinstance(template, str) and isinstance(stored, str) and PLACEHOLDER.search(template):
        names, pattern = _template_pattern(template)
        match = pattern.fullmatch(stored)
        if match:
            found += list(zip(names, match.groups(), strict=True))
    return found


# ---------------------------------------------------------------- the diff


def _scrub(text: str, known: list[tuple[str, str]]) -> str:
    """`text` with every known secret value written as its placeholder (longest values first)."""
    for name, value in sorted(known, key=lambda pair: -len(pair[1])):
        if value and value in text:
            text = text.replace(value, f"$secret:{name}")
    return text


def masked_before(stored: Any, template: Any, known: list[tuple[str, str]], key: str = "") -> Any:
    """The stored configuration as the diff shows it: its secrets as placeholders, never as values."""
    if isinstance(stored, Mapping):
        inner = template if isinstance(template, Mapping) else {}
        return {name: masked_before(item, inner.get(name), known, str(name)) for name, item in stored.items()}
    if isinstance(stored, list):
        inner_list = template if isinstance(template, list) else []
        return [
            masked_before(item, inner_list[index] if index < len(inner_list) else None, known, key)
            for index, item in enumerate(stored)
        ]
    if not isinstance(stored, str):
        return stored
    return _masked_string(stored, template, known, key)


def _masked_string(stored: str, template: Any, known: list[tuple[str, str]], key: str) -> str:
    if isinstance(template, str) and PLACEHOLDER.search(template):
        names, pattern = _template_pattern(template)
        if pattern.fullmatch(stored):
            return template
        # Its text around the secret changed too: where the old secret sits cannot be told.
        return f"$secret:? (hidden: the new value holds {', '.join('$secret:' + name for name in names)})"
    if template == stored:
        return stored
    scrubbed = _scrub(stored, known)
    if scrubbed == stored and stored and SECRET_KEY.search(key):
        return HIDDEN
    return scrubbed


def masked_after(template: Any, changed: set[str], known: list[tuple[str, str]]) -> Any:
    """The new configuration as the diff shows it: placeholders, those of changed secrets marked."""
    if isinstance(template, Mapping):
        return {name: masked_after(item, changed, known) for name, item in template.items()}
    if isinstance(template, list):
        return [masked_after(item, changed, known) for item in template]
    if not isinstance(template, str):
        return template
    # A secret written into the template as a value, not as a placeholder, is not shown either.
    marked = PLACEHOLDER.sub(
        lambda found: f"$secret:{found.group(1)}" + (" (changed)" if found.group(1) in changed else ""),
        template,
    )
    parts = re.split(r"(\$secret:[A-Za-z0-9_:-]+(?: \(changed\))?)", marked)
    return "".join(part if index % 2 else _scrub(part, known) for index, part in enumerate(parts))


def _json_text(config: Mapping[str, Any] | None) -> str:
    if config is None:
        return ""
    return json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_diff(
    template: Mapping[str, Any],
    stored: Mapping[str, Any] | None,
    secrets: Mapping[str, str],
    headers: tuple[str, str],
) -> dict[str, str]:
    old_values = stored_secrets(template, stored) if stored is not None else []
    changed = {name for name, value in old_values if value != secrets[name]}
    known = [(name, value) for name, value in secrets.items() if isinstance(value, str)] + old_values
    before = None if stored is None else masked_before(without_meta(stored), template, known)
    return {
        "before_header": headers[0],
        "after_header": headers[1],
        "before": _json_text(before),
        "after": _json_text(masked_after(template, changed, known)),
    }


# ---------------------------------------------------------------- the files


def without_meta(config: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in config.items() if key not in META_KEYS}


def canonical(config: Mapping[str, Any]) -> str:
    return json.dumps(without_meta(config), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def versions(directory: Path) -> dict[int, Path]:
    found = {}
    for path in directory.iterdir():
        match = VERSION_FILE.match(path.name)
        if match and path.is_file():
            found[int(match.group(1))] = path
    return found


def read_version(path: Path) -> dict[str, Any]:
    try:
        content = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path} cannot be read as JSON ({error}); repair or remove it") from error
    if not isinstance(content, dict):
        raise ConfigError(f"{path} is not a JSON object; repair or remove it")
    return content


def file_mode(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o7777:
        return value
    if isinstance(value, str) and re.fullmatch(r"0?[0-7]{3,4}", value):
        return int(value, 8)
    raise ConfigError(f"mode must be octal permissions such as '0640', got {value!r}")


def owner_ids(owner: str, group: str) -> tuple[int, int]:
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError as error:
        raise ConfigError(f"owner {owner!r} is no user of this host") from error
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError as error:
        raise ConfigError(f"group {group!r} is no group of this host") from error
    return uid, gid


def write_version(path: Path, content: Mapping[str, Any], mode: int, uid: int, gid: int) -> None:
    """`path` written whole or not at all: a temporary file beside it, its attributes set, renamed over."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".lmConf-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(_json_text(content).encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chown(temporary, uid, gid)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def attributes_differ(path: Path, mode: int, uid: int, gid: int) -> bool:
    status = path.stat()
    return (status.st_mode & 0o7777, status.st_uid, status.st_gid) != (mode, uid, gid)


class Lock:
    """LemonLDAP::NG's own configuration lock (lmConf.lock holding a PID), held while writing."""

    def __init__(self, directory: Path, enabled: bool) -> None:
        self.path = directory / LOCK_FILE
        self.enabled = enabled

    def __enter__(self) -> Lock:
        if not self.enabled:
            return self
        for attempt in range(2):
            try:
                descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            except FileExistsError:
                if attempt == 0:
                    time.sleep(LOCK_WAIT_SECONDS)
                continue
            with os.fdopen(descriptor, "w") as handle:
                handle.write(str(os.getpid()))
            return self
        raise ConfigError(
            f"{self.path} exists: a configuration is being saved (the manager or lemonldap-ng-cli); "
            "run again, or remove the file if no save is running"
        )

    def __exit__(self, *_: object) -> None:
        if self.enabled:
            self.path.unlink(missing_ok=True)


# ---------------------------------------------------------------- the run


def _checked_params(params: Mapping[str, Any]) -> tuple[Path, int, int, tuple[int, int]]:
    directory = Path(params["directory"])
    if not directory.is_dir():
        raise ConfigError(f"directory {directory} does not exist (is liblemonldap-ng-common-perl installed?)")
    if params["keep"] < 1:
        raise ConfigError(f"keep must be at least 1 (the newest version), got {params['keep']}")
    given_meta = [key for key in META_KEYS if key in params["config"]]
    if given_meta:
        raise ConfigError(f"config must not hold {', '.join(given_meta)}: the module sets them; remove them")
    return directory, params["keep"], file_mode(params["mode"]), owner_ids(params["owner"], params["group"])


def run(module: AnsibleModule) -> dict[str, Any]:
    params = module.params
    directory, keep, mode, (uid, gid) = _checked_params(params)
    template, secrets = params["config"], params["secrets"]
    for warning in check_placeholders(template, secrets):
        module.warn(warning)
    rendered = substitute(template, secrets)
    with Lock(directory, enabled=not module.check_mode):
        found = versions(directory)
        newest = max(found, default=0)
        stored = read_version(found[newest]) if newest else None
        write = stored is None or canonical(stored) != canonical(rendered)
        number = newest + 1 if write else newest
        path = directory / f"lmConf-{number}.json"
        kept = sorted({*found, number}, reverse=True)[:keep]
        pruned = [found[old] for old in sorted(found) if old not in kept]
        fix_attributes = not write and attributes_differ(path, mode, uid, gid)
        if not module.check_mode:
            if write:
                content = {**rendered, "cfgNum": number, "cfgAuthor": AUTHOR, "cfgDate": int(time.time())}
                content["cfgAuthorIP"] = "127.0.0.1"
                content["cfgLog"] = "soctrang.mail.llng_config"
                write_version(path, content, mode, uid, gid)
            elif fix_attributes:
                os.chown(path, uid, gid)
                os.chmod(path, mode)
            for old in pruned:
                old.unlink()
    result: dict[str, Any] = {
        "changed": write or fix_attributes or bool(pruned),
        "cfgNum": number,
        "file": str(path),
        "written": write,
        "pruned": [old.name for old in pruned],
    }
    if module._diff and write:
        headers = (found[newest].name if newest else "(no configuration)", path.name)
        result["diff"] = render_diff(template, stored, secrets, headers)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "config": {"type": "dict", "required": True},
            "secrets": {"type": "dict", "default": {}, "no_log": True},
            "directory": {"type": "path", "default": "/var/lib/lemonldap-ng/conf"},
            "keep": {"type": "int", "default": 10},
            "owner": {"type": "str", "default": "www-data"},
            "group": {"type": "str", "default": "www-data"},
            "mode": {"type": "raw", "default": "0640"},
        },
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except ConfigError as error:
        module.fail_json(msg=str(error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
