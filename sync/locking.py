"""One sync operation at a time per open vault.

The app's background hub pass, "Sync now", a USB sync and a supervisor's merge may
overlap in threads; each takes this lock, so a second one waits and then finds nothing
left to do instead of sending or applying the same bundle twice.
"""

from __future__ import annotations

import threading
import weakref

from fieldapp.store import Vault

_LOCKS: weakref.WeakKeyDictionary[Vault, threading.RLock] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def sync_lock(vault: Vault) -> threading.RLock:
    """The vault's one sync lock (re-entrant, made on first use), held while cutting,
    delivering, merging or running a hub pass."""
    with _GUARD:
        lock = _LOCKS.get(vault)
        if lock is None:
            lock = _LOCKS[vault] = threading.RLock()
        return lock
