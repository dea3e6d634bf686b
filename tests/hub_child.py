"""Child for the worker kill -9 test against the real hub: save, then one hub sync pass
(probe, cut, upload), in a loop. Usage: hub_child.py VAULT PASSPHRASE SEED"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from fieldapp.domain.ids import new_id
from fieldapp.store import Change, Vault
from sync import hubsync


def main() -> None:
    path, passphrase, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(seed)
    vault = Vault.open(Path(path), passphrase)
    transport = hubsync.worker_transport(vault, sleep=lambda s: None)
    transport.client  # noqa: B018 - set up boto3 before saying READY
    print("READY", flush=True)
    while True:
        for _ in range(rng.randrange(1, 4)):
            vault.commit([Change("resident", new_id(), {"name": "居民", "community": "史家社区"})])
        hubsync.upload(vault, transport)


if __name__ == "__main__":
    main()
