"""Bundle benchmark: bytes per op against the ops' raw JSON, seal and open throughput.

    python bench/bundles.py [--residents 2000]

Ops come from the demo generator (realistic bilingual case records). Budget (DESIGN
§4): bundle bytes ≤ 0.3× the raw JSON. Raw JSON = each op as a JSON object with its
eight fields (op_id, kind, record_id, field, value, hlc, device_id, base), the form a
naive exporter would write; the compact row form is shown too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from fieldapp.services.demo import build_demo
    from fieldapp.services.records import RecordService
    from fieldapp.store import KdfParams, Vault
    from sync.bundle import Chain, Enrolled, digest, domain_validator, open_bundle, seal
    from sync.cards import raw_public

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        vault, _ = Vault.create(Path(tmp) / "v", "bench passphrase", kdf=KdfParams(1024, 1, 1))
        build_demo(RecordService(vault), dt.date(2026, 11, 29), residents=args.residents)
        ops = [op for op in vault.all_ops() if op.device_id == vault.device_id]
        vault.close(compact=False)
    team = X25519PrivateKey.generate()
    key = Ed25519PrivateKey.generate()
    device = ops[0].device_id
    fields = ("op_id", "kind", "record_id", "field", "value", "hlc", "device_id", "base")
    raw_objects = sum(len(orjson.dumps(dict(zip(fields, op.to_row(), strict=True)))) for op in ops)
    raw_rows = len(orjson.dumps([op.to_row() for op in ops]))
    chunks = [ops[i : i + 5000] for i in range(0, len(ops), 5000)]

    def seal_all() -> list[bytes]:
        out, prev = [], ""
        for seq, chunk in enumerate(chunks, 1):
            data = seal(
                chunk,
                team_id="t",
                team_key=team.public_key(),
                device_id=device,
                sign_key=key,
                seq=seq,
                prev=prev,
            )
            out.append(data)
            prev = digest(data)
        return out

    validate = domain_validator()
    devices = {device: Enrolled(raw_public(key.public_key()))}

    def open_all(bundles: list[bytes]) -> int:
        n, chain = 0, Chain()
        for data in bundles:
            opened = open_bundle(
                data,
                team_id="t",
                team_key=team,
                devices=devices,
                chain=lambda d, c=chain: c,
                validate_op=validate,
            )
            chain = Chain(opened.header.seq, opened.digest)
            n += len(opened.ops)
        return n

    seal_times, open_times = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        bundles = seal_all()
        seal_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        assert open_all(bundles) == len(ops)
        open_times.append(time.perf_counter() - t0)
    size = sum(len(b) for b in bundles)
    print(f"{len(ops)} ops from {args.residents} demo residents, {len(bundles)} bundles\n")
    print(f"  raw JSON (op objects)    {raw_objects / len(ops):7.1f} B/op")
    print(f"  raw JSON (compact rows)  {raw_rows / len(ops):7.1f} B/op")
    print(
        f"  bundle                   {size / len(ops):7.1f} B/op   "
        f"= {size / raw_objects:.3f}× objects, {size / raw_rows:.3f}× rows   budget ≤ 0.3×"
    )
    # Worst case for compression: every text value replaced by random CJK of the same length.
    rng = random.Random(1)

    def scramble(value: object) -> object:
        if isinstance(value, str) and len(value) > 3 and "-" not in value:
            return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in value)
        return value

    noisy = [replace(op, value=scramble(op.value)) for op in ops]
    noisy_raw = sum(len(orjson.dumps(dict(zip(fields, op.to_row(), strict=True)))) for op in noisy)
    noisy_size = sum(
        len(
            seal(
                noisy[i : i + 5000],
                team_id="t",
                team_key=team.public_key(),
                device_id=device,
                sign_key=key,
                seq=1,
                prev="",
            )
        )
        for i in range(0, len(noisy), 5000)
    )
    print(
        f"  bundle, random text      {noisy_size / len(ops):7.1f} B/op   "
        f"= {noisy_size / noisy_raw:.3f}× objects (every text value random CJK: worst case)"
    )
    seal_s, open_s = statistics.median(seal_times), statistics.median(open_times)
    print(f"\n  seal  {len(ops) / seal_s:>10,.0f} ops/s   (median of 5: {seal_s * 1e3:.0f} ms)")
    print(
        f"  open  {len(ops) / open_s:>10,.0f} ops/s   (verify + decrypt + inflate + validate"
        f" every op; median {open_s * 1e3:.0f} ms)"
    )


if __name__ == "__main__":
    main()
