"""Every plugin of soctrang.mail has documentation that ansible-doc renders.

The plugins are discovered from the files under plugins/ (a filter from what its
FilterModule registers), so a new plugin is checked without touching this test.
ansible-doc runs once per plugin type; when that run fails, each plugin of the
type is asked for alone, so that the failure names every broken one.

A module's documented options are compared with the argument spec its main()
really hands to AnsibleModule (names, type, elements, required, default,
choices), as ansible-test's validate-modules does. An action plugin is
documented by the module of its name (a doc-only module when the action has no
module code); its documented options are compared with the arguments the
action accepts (_VALID_ARGS).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

COLLECTION = "soctrang.mail"
COLLECTION_DIR = Path(__file__).resolve().parents[3]
PLUGINS_DIR = COLLECTION_DIR / "plugins"
# collections/ansible_collections/soctrang/mail -> the repository, whose ansible.cfg
# finds the collection (collections_path = collections).
REPOSITORY = COLLECTION_DIR.parents[3]
PACKAGE = "ansible_collections.soctrang.mail.plugins"

# Folder under plugins/ -> ansible-doc's plugin type. action/ is covered by modules/.
PLUGIN_TYPES = {
    "modules": "module",
    "filter": "filter",
    "connection": "connection",
    "lookup": "lookup",
    "inventory": "inventory",
    "vars": "vars",
    "callback": "callback",
}
# Types whose documentation must also carry EXAMPLES and RETURN (the house style).
WITH_EXAMPLES_AND_RETURN = frozenset(("module", "filter"))
ANSIBLE_DOC = Path(sys.executable).with_name("ansible-doc")
ANSIBLE_DOC_TIMEOUT = 120


def _python_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.glob("*.py") if not path.name.startswith("_"))


def _filter_names(path: Path) -> list[str]:
    module = importlib.import_module(f"{PACKAGE}.filter.{path.stem}")
    assert hasattr(module, "FilterModule"), f"plugins/filter/{path.name} defines no FilterModule"
    return sorted(module.FilterModule().filters())


def discover() -> dict[str, list[str]]:
    """ansible-doc type -> short names of the collection's plugins of that type."""
    found: dict[str, list[str]] = {}
    for folder, plugin_type in PLUGIN_TYPES.items():
        files = _python_files(PLUGINS_DIR / folder)
        if plugin_type == "filter":
            names = sorted(name for path in files for name in _filter_names(path))
        else:
            names = [path.stem for path in files]
        if names:
            found[plugin_type] = names
    return found


PLUGINS = discover()
CASES = [(plugin_type, name) for plugin_type, names in sorted(PLUGINS.items()) for name in names]
ACTIONS = [path.stem for path in _python_files(PLUGINS_DIR / "action")]


def _ansible_doc(plugin_type: str, names: list[str]) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "ANSIBLE_CONFIG": str(REPOSITORY / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    command = [str(ANSIBLE_DOC), "-t", plugin_type, "--json", *(f"{COLLECTION}.{name}" for name in names)]
    # The command is built from the plugin file names of this repository, never from input.
    return subprocess.run(
        command,
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=ANSIBLE_DOC_TIMEOUT,
        check=False,
    )


def _failure(run: subprocess.CompletedProcess[str]) -> str | None:
    """ansible-doc's complaint, if any: it exits 0 after some errors and warnings."""
    complaints = [line for line in run.stderr.splitlines() if "[ERROR]" in line or "[WARNING]" in line]
    if run.returncode != 0 or complaints:
        return f"`{' '.join(run.args[1:])}` exited {run.returncode}: {run.stderr.strip() or run.stdout.strip()}"
    return None


def _documentation(
    pool: ThreadPoolExecutor, plugin_type: str, names: list[str], batch: subprocess.CompletedProcess[str]
) -> dict[str, Any]:
    """FQCN -> ansible-doc's JSON entry, or the error that ansible-doc gave instead."""
    if _failure(batch) is None:
        return json.loads(batch.stdout)
    # One broken plugin stops ansible-doc for all of them: ask each one alone.
    singles = {f"{COLLECTION}.{name}": pool.submit(_ansible_doc, plugin_type, [name]) for name in names}
    entries: dict[str, Any] = {}
    for fqcn, single in singles.items():
        run = single.result()
        entries[fqcn] = _failure(run) or json.loads(run.stdout).get(fqcn)
    return entries


@pytest.fixture(scope="module")
def documentation() -> dict[str, dict[str, Any]]:
    """Plugin type -> FQCN -> ansible-doc's entry; one ansible-doc per type, all at once."""
    assert ANSIBLE_DOC.is_file(), f"{ANSIBLE_DOC} is missing: run `make venv`"
    with ThreadPoolExecutor(max_workers=max(len(PLUGINS), os.cpu_count() or 1)) as pool:
        batches = {plugin_type: pool.submit(_ansible_doc, plugin_type, names) for plugin_type, names in PLUGINS.items()}
        return {
            plugin_type: _documentation(pool, plugin_type, PLUGINS[plugin_type], batch.result())
            for plugin_type, batch in batches.items()
        }


def _text_problems(where: str, value: object) -> list[str]:
    """A description must be text or a list of texts; `a: b` unquoted in YAML makes a mapping."""
    if isinstance(value, str):
        return [] if value.strip() else [f"{where} is empty"]
    if isinstance(value, list) and value:
        return [
            f"{where}[{index}] is a {type(item).__name__}, not text (an unquoted ': ' in the YAML?): {item!r}"
            for index, item in enumerate(value)
            if not isinstance(item, str)
        ]
    return [f"{where} must be text or a list of texts, got {value!r}"]


def _field_problems(where: str, fields: object, nested: str) -> list[str]:
    """Problems of every option or return value in `fields`, and of their nested ones."""
    if fields is None:
        return []
    if not isinstance(fields, dict):
        return [f"{where} must be a mapping, got {fields!r}"]
    problems = []
    for name, field in fields.items():
        if not isinstance(field, dict):
            problems.append(f"{where}.{name} must be a mapping, got {field!r}")
            continue
        problems += _text_problems(f"{where}.{name}.description", field.get("description"))
        problems += _field_problems(f"{where}.{name}", field.get(nested), nested)
    return problems


def _doc_problems(doc: dict[str, Any]) -> list[str]:
    """What would keep ansible-doc from rendering DOCUMENTATION as text, or leave it incomplete.

    ansible-doc --json hands the parsed YAML through unchecked; its text output
    formats every description and fails on a mapping where text belongs.
    """
    short = doc.get("short_description")
    problems = [] if isinstance(short, str) and short.strip() else [f"short_description is missing: {short!r}"]
    for section in ("description", "notes", "requirements"):
        if section in doc:
            problems += _text_problems(section, doc[section])
    problems += _field_problems("options", doc.get("options"), "suboptions")
    for name, attribute in (doc.get("attributes") or {}).items():
        problems += _text_problems(f"attributes.{name}.description", (attribute or {}).get("description"))
        if "details" in (attribute or {}):
            problems += _text_problems(f"attributes.{name}.details", attribute["details"])
    problems += [
        f"seealso[{index}] must be a mapping (module:, plugin:, link: or ref:), got {reference!r}"
        for index, reference in enumerate(doc.get("seealso") or [])
        if not isinstance(reference, dict)
    ]
    return problems


@pytest.mark.parametrize(("plugin_type", "name"), CASES, ids=[f"{kind}:{name}" for kind, name in CASES])
def test_ansible_doc_renders_the_documentation(
    documentation: dict[str, dict[str, Any]], plugin_type: str, name: str
) -> None:
    fqcn = f"{COLLECTION}.{name}"
    entry = documentation[plugin_type].get(fqcn)
    assert entry is not None, f"ansible-doc -t {plugin_type} returned nothing for {fqcn}"
    if isinstance(entry, str):
        pytest.fail(f"{plugin_type} {fqcn}: {entry}")
    doc = entry.get("doc")
    assert isinstance(doc, dict) and doc, f"{plugin_type} {fqcn} has no DOCUMENTATION"
    key = "module" if plugin_type == "module" else "name"
    documented_name = doc.get(key)
    assert documented_name == name, (
        f"{plugin_type} {fqcn}: DOCUMENTATION says {key}: {documented_name!r}, expected the short name {name!r} "
        "(a filter file without a <name>.yml beside it shows the doc of another filter)"
    )
    problems = _doc_problems(doc)
    if plugin_type in WITH_EXAMPLES_AND_RETURN:
        examples = str(entry.get("examples") or "")
        if not examples.strip():
            problems.append("EXAMPLES is missing or empty")
        elif fqcn not in examples:
            problems.append(f"EXAMPLES never call {fqcn} by its FQCN")
        if not entry.get("return"):
            problems.append("RETURN is missing or empty")
        else:
            problems += _field_problems("RETURN", entry["return"], "contains")
    assert not problems, f"{plugin_type} {fqcn}:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------- options against the code


class _ArgumentSpecCapturedError(Exception):
    """Raised by the stand-in AnsibleModule once main() handed it the argument spec."""


def _argument_spec(name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any] | None:
    """The argument_spec the module's main() gives AnsibleModule; None for a doc-only module."""
    module = importlib.import_module(f"{PACKAGE}.modules.{name}")
    if not hasattr(module, "main"):
        return None
    captured: dict[str, Any] = {}

    def stand_in(*args: Any, **kwargs: Any) -> None:
        captured["argument_spec"] = kwargs["argument_spec"] if "argument_spec" in kwargs else args[0]
        raise _ArgumentSpecCapturedError

    monkeypatch.setattr(module, "AnsibleModule", stand_in)
    with pytest.raises(_ArgumentSpecCapturedError):
        module.main()
    return captured["argument_spec"]


def _option_differences(where: str, documented: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    problems = [f"{where}{option} is documented but not in the argument spec" for option in documented.keys() - spec]
    problems += [f"{where}{option} is in the argument spec but not documented" for option in spec.keys() - documented]
    for option in sorted(documented.keys() & spec.keys()):
        doc, code = documented[option], spec[option]
        pairs = {
            "type": (doc.get("type", "str"), code.get("type", "str")),
            "elements": (doc.get("elements"), code.get("elements")),
            "required": (bool(doc.get("required", False)), bool(code.get("required", False))),
            "default": (doc.get("default"), code.get("default")),
            "choices": (doc.get("choices"), list(code["choices"]) if code.get("choices") is not None else None),
            "aliases": (sorted(doc.get("aliases") or []), sorted(code.get("aliases") or [])),
        }
        problems += [
            f"{where}{option}: {field} is documented as {in_doc!r}, the argument spec says {in_code!r}"
            for field, (in_doc, in_code) in pairs.items()
            if in_doc != in_code
        ]
        if doc.get("suboptions") or code.get("options"):
            problems += _option_differences(f"{where}{option}.", doc.get("suboptions") or {}, code.get("options") or {})
    return problems


MODULES = PLUGINS.get("module", [])


def _accepted_by_action(name: str) -> frozenset[str]:
    """The arguments an action plugin accepts (ActionBase refuses any other)."""
    action = importlib.import_module(f"{PACKAGE}.action.{name}").ActionModule
    accepted = frozenset(getattr(action, "_VALID_ARGS", ()))
    assert accepted, f"action plugin {name} declares no _VALID_ARGS, so its documented options cannot be checked"
    return accepted


@pytest.mark.parametrize("name", MODULES)
def test_documented_options_are_what_the_code_accepts(
    documentation: dict[str, dict[str, Any]], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = documentation["module"].get(f"{COLLECTION}.{name}")
    if not isinstance(entry, dict):
        pytest.fail(f"module {COLLECTION}.{name} has no documentation to compare (see the rendering test)")
    documented = entry["doc"].get("options") or {}
    spec = _argument_spec(name, monkeypatch)
    if spec is not None:
        problems = _option_differences("", documented, spec)
        assert not problems, f"module {COLLECTION}.{name}:\n  " + "\n  ".join(problems)
        return
    assert name in ACTIONS, f"plugins/modules/{name}.py has no main() and there is no action plugin {name}"
    accepted = _accepted_by_action(name)
    assert documented.keys() == accepted, (
        f"doc-only module {COLLECTION}.{name}: documented but not accepted by the action "
        f"{sorted(documented.keys() - accepted)}, accepted but not documented {sorted(accepted - documented.keys())}"
    )


@pytest.mark.parametrize("name", ACTIONS)
def test_action_plugin_is_documented_by_its_module(name: str) -> None:
    assert name in MODULES, (
        f"action plugin {name} has no plugins/modules/{name}.py: add a doc-only module "
        "(DOCUMENTATION, EXAMPLES, RETURN) as ansible.builtin does for template"
    )


def test_every_filter_doc_file_belongs_to_a_filter() -> None:
    filters = set(PLUGINS.get("filter", []))
    orphans = sorted(path.name for path in (PLUGINS_DIR / "filter").glob("*.y*ml") if path.stem not in filters)
    assert not orphans, f"plugins/filter: {orphans} document no filter that a FilterModule registers"


def test_the_plugins_were_found() -> None:
    # An empty discovery would make every test above pass without checking anything.
    assert MODULES and PLUGINS.get("filter"), f"no modules or filters found under {PLUGINS_DIR}"
