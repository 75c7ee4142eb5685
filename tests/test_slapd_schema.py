"""roles/slapd/files: the documented schema and the LDIF slapd loads say the same.

soc-mail.schema (slapd.conf syntax, with the comments) is what people read;
soc-mail.ldif is what the slapd role loads into cn=config. A definition changed
in one and not the other would make the documentation lie.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

FILES = Path(__file__).resolve().parent.parent / "roles" / "slapd" / "files"
ARC = "2.25.276183083555255484389164958006627802428"


def _normalised(definition: str) -> str:
    return " ".join(definition.replace("( ", "(").replace(" )", ")").split())


def schema_definitions() -> dict[str, list[str]]:
    text = re.sub(r"#.*", "", (FILES / "soc-mail.schema").read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {"attributetype": [], "objectclass": []}
    for keyword, body in re.findall(
        r"(attributetype|objectclass)\s*(\(.*?\))\s*(?=attributetype|objectclass|$)", text, re.S
    ):
        found[keyword].append(_normalised(body))
    return found


def ldif_definitions() -> dict[str, list[str]]:
    lines = (FILES / "soc-mail.ldif").read_text(encoding="utf-8").splitlines()
    assert not [line for line in lines if line.startswith(" ")], "keep soc-mail.ldif unfolded: one value per line"
    return {
        "attributetype": [
            _normalised(line.split(": ", 1)[1]) for line in lines if line.startswith("olcAttributeTypes: ")
        ],
        "objectclass": [_normalised(line.split(": ", 1)[1]) for line in lines if line.startswith("olcObjectClasses: ")],
    }


@pytest.mark.parametrize("kind", ["attributetype", "objectclass"])
def test_schema_and_ldif_hold_the_same_definitions(kind: str) -> None:
    assert schema_definitions()[kind] == ldif_definitions()[kind]


def test_every_oid_is_under_the_stated_arc_and_unique() -> None:
    definitions = schema_definitions()["attributetype"] + schema_definitions()["objectclass"]
    oids = [definition.split()[0].lstrip("(") for definition in definitions]
    assert all(oid.startswith(ARC + ".") for oid in oids), oids
    assert len(set(oids)) == len(oids)


def test_the_contract_attributes_are_all_defined() -> None:
    # docs/contracts.md §2
    names = {re.search(r"NAME '(\w+)'", d).group(1) for d in schema_definitions()["attributetype"]}
    assert names == {
        "socOwnerId",
        "socMailboxState",
        "socMailQuota",
        "socMailAlias",
        "socMailManager",
        "socMailSendAsManagers",
        "socNameAscii",
        "socMailHost",
        "socUnitMail",
    }
    (mailbox,) = schema_definitions()["objectclass"]
    assert "NAME 'socMailbox'" in mailbox
    assert "AUXILIARY" in mailbox
