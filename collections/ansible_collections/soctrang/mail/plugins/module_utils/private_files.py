# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files that hold passwords: written whole or not at all, readable by their owner only.

Shared by the module ldap_mailboxes (its journal of initial passwords, on the
directory host) and the action mailbox_handover (the agencies' hand-over files,
on the controller), which both must never leave a half-written or world-readable
file behind, whatever interrupts them.
"""

from __future__ import annotations

import os
import tempfile


def write_private_file(path: str, data: bytes, prefix: str) -> None:
    """Replace `path` atomically with `data`, mode 0600, in a folder made 0700 if missing.

    The temporary file (`prefix` + random, beside `path`) is fsynced before the
    rename, so a crash leaves either the old file or the new one; on any error it
    is removed.
    """
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=prefix)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
