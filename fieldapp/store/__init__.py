"""The encrypted local vault: key slots, journal + snapshot, TinyDB tables. No UI."""

from fieldapp.store.crypto import KdfParams
from fieldapp.store.vault import Change, OpenReport, Vault

__all__ = ["Change", "KdfParams", "OpenReport", "Vault"]
