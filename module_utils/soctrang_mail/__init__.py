"""The address rules of Decision 59/2024 (Điều 3), the directory and the address ledger.

Plain Python with no Ansible imports, so that the filter plugins, the command-line
tools and the tests share one implementation. See docs/contracts.md.
"""

from .directory import Directory, DirectoryError, Problem, load_directory
from .ledger import Change, Entry, LedgerError, allocate, parse_ledger, render_ledger
from .naming import NamingError, leadership_rank, person_base, size_to_bytes, unit_label
from .state import Policy, StaleLedgerError, desired_state, mail_state, plan
from .text import ascii_name, clean_spaces, decode_legacy, detect_legacy_encoding, fold_to_ascii

__all__ = [
    "Change",
    "Directory",
    "DirectoryError",
    "Entry",
    "LedgerError",
    "NamingError",
    "Policy",
    "Problem",
    "StaleLedgerError",
    "allocate",
    "ascii_name",
    "clean_spaces",
    "decode_legacy",
    "desired_state",
    "detect_legacy_encoding",
    "fold_to_ascii",
    "leadership_rank",
    "load_directory",
    "mail_state",
    "parse_ledger",
    "person_base",
    "plan",
    "render_ledger",
    "size_to_bytes",
    "unit_label",
]
