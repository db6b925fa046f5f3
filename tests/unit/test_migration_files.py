from pathlib import Path

import pytest

from shared.db.migrate import MigrationError, load_migrations


def test_baseline_comes_first_then_service_files(tmp_path: Path) -> None:
    (tmp_path / "0002_more.sql").write_text("SELECT 2;")
    (tmp_path / "0001_things.sql").write_text("SELECT 1;")
    ids = [m.id for m in load_migrations(tmp_path)]
    assert ids == ["shared/0001_outbox_inbox", "0001_things", "0002_more"]


def test_checksum_follows_content(tmp_path: Path) -> None:
    (tmp_path / "0001_things.sql").write_text("SELECT 1;")
    before = load_migrations(tmp_path)[-1].checksum
    (tmp_path / "0001_things.sql").write_text("SELECT 1; ")
    assert load_migrations(tmp_path)[-1].checksum != before


@pytest.mark.parametrize("name", ["1_short.sql", "0001-dash.sql", "0001_Upper.sql", "x.sql"])
def test_badly_named_files_are_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="name must look like"):
        load_migrations(tmp_path)


def test_a_number_used_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="used twice"):
        load_migrations(tmp_path)
