"""Child for the outbox kill -9 test: save, cut, deliver to a folder, in a loop.
Usage: outbox_child.py VAULT PASSPHRASE FOLDER SEED"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from fieldapp.domain.ids import new_id
from fieldapp.store import Change, Vault
from sync import outbox
from sync.transports.folder import FolderTransport


def main() -> None:
    path, passphrase, folder, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rng = random.Random(seed)
    vault = Vault.open(Path(path), passphrase)
    stick = FolderTransport(Path(folder))
    print("READY", flush=True)
    while True:
        for _ in range(rng.randrange(1, 4)):
            vault.commit([Change("resident", new_id(), {"name": "居民", "community": "史家社区"})])
        if rng.random() < 0.7:
            outbox.cut(vault)
        if rng.random() < 0.7:
            outbox.deliver(vault, stick)


if __name__ == "__main__":
    main()
