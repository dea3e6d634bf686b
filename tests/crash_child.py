"""Child process for the kill -9 tests: saves in a loop, printing ACK after each save
returned. Usage: crash_child.py VAULT PASSPHRASE START SEED"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from fieldapp.store import Change, Vault


def record_id(i: int) -> str:
    # Valid-looking, deterministic UUIDv7-shaped ids so the parent can predict them.
    return f"00000000-0000-7000-8000-{i:012d}"


def main() -> None:
    path, passphrase, start, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    vault = Vault.open(Path(path), passphrase)
    print("READY", flush=True)
    i = start
    while True:
        # One commit = a new record + an edit of an older one: both or neither survive.
        changes = [
            Change("resident", record_id(i), {"n": i, "pad": "x" * rng.randrange(0, 3000)}),
            Change("resident", record_id(i // 2), {"edited": i}),
        ]
        vault.commit(changes)
        print(f"ACK {i}", flush=True)
        if rng.random() < 0.04:
            vault.compact()
            print("COMPACTED", flush=True)
        i += 1


if __name__ == "__main__":
    main()
