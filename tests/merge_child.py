"""Child for the merge kill -9 test: merge every bundle in a folder, slowly enough to
be killed in the middle. Usage: merge_child.py VAULT PASSPHRASE FOLDER"""

from __future__ import annotations

import sys
from pathlib import Path

from fieldapp.store import Vault
from sync.sources import merge_sources


def main() -> None:
    path, passphrase, folder = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    vault = Vault.open(Path(path), passphrase)
    print("READY", flush=True)
    merge_sources(vault, [folder])
    print("DONE", flush=True)
    vault.close(compact=False)


if __name__ == "__main__":
    main()
