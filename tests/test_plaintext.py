"""No plaintext personal data on disk: after `fieldapp demo` and some edits, no file
under the data directory holds any resident's name, phone or ID number — as bytes in
common encodings, nor inside anything that zlib or zstd can decompress."""

from __future__ import annotations

import os
import subprocess
import zlib
from pathlib import Path

import zstandard

from fieldapp.domain import Need, NeedCategory, Resident
from fieldapp.services.demo import DEMO_PASSPHRASE
from fieldapp.services.records import RecordService
from fieldapp.store import Vault
from tests.conftest import ROOT, python

ZLIB_HEADERS = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def needles(values: list[str]) -> set[bytes]:
    out: set[bytes] = set()
    for value in values:
        out.add(value.encode("utf-8"))
        out.add(value.encode("utf-16-le"))
        out.add(value.encode("unicode_escape"))  # JSON-style \\uXXXX
        if len(value) >= 3:  # shorter GBK strings are 4 bytes: too likely in random data
            try:
                out.add(value.encode("gbk"))
            except UnicodeEncodeError:
                pass
    return {n for n in out if len(n) >= 6}


def decompressed_views(data: bytes) -> list[bytes]:
    views = []
    for header in ZLIB_HEADERS:
        start = data.find(header)
        while start != -1:
            try:
                views.append(zlib.decompressobj().decompress(data[start:], 50_000_000))
            except zlib.error:
                pass
            start = data.find(header, start + 1)
    start = data.find(ZSTD_MAGIC)
    while start != -1:
        try:
            views.append(zstandard.ZstdDecompressor().decompressobj().decompress(data[start:]))
        except zstandard.ZstdError:
            pass
        start = data.find(ZSTD_MAGIC, start + 1)
    return views


def test_no_personal_data_in_any_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "FIELDAPP_HOME": str(home), "FIELDAPP_LANG": "en"}
    run = subprocess.run(
        [python(), "-m", "fieldapp", "demo", "--summary"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr

    vault_dir = home / "demo"
    vault = Vault.open(vault_dir, DEMO_PASSPHRASE)
    service = RecordService(vault)
    residents = service.all(Resident)
    # A few edits after the demo: some end in the snapshot, some stay in the journal.
    extra = Resident(
        name="欧阳明月测试",
        community="史家社区",
        phones=["13912345678"],
        id_number="11010519491231002X",
        notes="独居，女儿在深圳",
    )
    service.save(extra)
    service.save(residents[0].model_copy(update={"notes": "电话 13700001111 已更新"}))
    vault.put_meta("draft/new-need", {"description": "草稿：需要轮椅 wheelchair-draft-text"})
    vault.close()
    vault = Vault.open(vault_dir, DEMO_PASSPHRASE)
    service = RecordService(vault)
    service.save(
        Need(
            resident_id=extra.id,
            category=NeedCategory.HEALTH,
            description="陪同复诊 escort-text",
            opened_on=vault.clock.today(),
        )
    )
    vault.close(compact=False)

    values = [
        extra.name,
        "13912345678",
        "11010519491231002X",
        "13700001111",
        "独居，女儿在深圳",
        "wheelchair-draft-text",
        "escort-text",
    ]
    for r in residents:
        values += [r.name, *r.phones, *([r.id_number] if r.id_number else [])]
        values += [m.name for m in r.household]
    patterns = needles(values)
    assert len(patterns) > 1000

    scanned, leaks = scan(home, patterns)
    assert scanned >= 5
    assert not leaks


def scan(root: Path, patterns: set[bytes]) -> tuple[int, list[tuple[str, bytes]]]:
    scanned, leaks = 0, []
    for file in root.rglob("*"):
        if not file.is_file():
            continue
        data = file.read_bytes()
        scanned += 1
        for view in [data, *decompressed_views(data)]:
            leaks += [(file.name, p) for p in patterns if p in view]
    return scanned, leaks


def test_the_scan_finds_planted_leaks(tmp_path: Path) -> None:
    patterns = needles(["欧阳明月", "13912345678"])
    (tmp_path / "plain.log").write_bytes("… 欧阳明月 …".encode("gbk"))
    (tmp_path / "z.bin").write_bytes(b"junk" + zlib.compress("13912345678".encode("utf-16-le")))
    (tmp_path / "zst.bin").write_bytes(
        b"\x00" + zstandard.ZstdCompressor().compress(b'{"n": "\\u6b27\\u9633\\u660e\\u6708"}')
    )
    (tmp_path / "clean.bin").write_bytes(os.urandom(4096))
    scanned, leaks = scan(tmp_path, patterns)
    assert scanned == 4
    assert {name for name, _ in leaks} == {"plain.log", "z.bin", "zst.bin"}
