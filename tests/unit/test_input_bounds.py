"""Inputs that reach a database or git are checked first: a bad cursor, page token or revision is a 422 naming its
field, never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from revloops.app.base import page_offset
from revloops.core.errors import InputError

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"


def test_a_cursor_a_list_gave_out_is_its_offset() -> None:
    assert (page_offset(None), page_offset("0"), page_offset("40"), page_offset("999999999999")) == \
        (0, 0, 40, 999_999_999_999)


@pytest.mark.parametrize("cursor", ["9223372036854775808", "1" * 40, "-1", "1.5", "", "abc", "٣", "²"])
def test_anything_else_is_refused_naming_the_cursor(cursor: str) -> None:
    with pytest.raises(InputError) as bad:
        page_offset(cursor)
    assert bad.value.field == "cursor"


@pytest.mark.parametrize("token", ["OTIyMzM3MjAzNjg1NDc3NTgwOA==", "!!!", "w6k=", "LTE="])  # 2**63, junk, "é", "-1"
def test_the_embedded_crm_refuses_a_page_token_it_never_gave_out(token: str, tmp_path: Path) -> None:
    from revloops.app import open_app
    from revloops.ports.crm import Query

    app = open_app(config=CONFIG, db=f"sqlite:///{tmp_path / 'state.db'}", state_dir=tmp_path)
    crm = app.platform.crm
    first = crm.query(Query("User"), page_size=1)
    assert first.total == 0 and first.next_token is None
    with pytest.raises(ValueError, match="not a page token"):
        crm.query(Query("Lead"), page_token=token)


@pytest.mark.parametrize("rev", ["", "\x00", "main\x00", "-o", "--output=/tmp/x", "a\nb", "x" * 201])
def test_a_revision_git_would_misread_is_refused_before_git_runs(rev: str, tmp_path: Path) -> None:
    from revloops.config.revision import load_config_at, merge_base

    for load in (load_config_at, merge_base):
        with pytest.raises(InputError) as bad:
            load(tmp_path, rev)
        assert bad.value.field == "against"


def test_a_revision_as_users_name_them_passes() -> None:
    from revloops.config.revision import check_rev

    for rev in ("HEAD", "HEAD~2", "origin/main", "v1.2.0", "4ad6035302fe", "feature/plan-é"):
        assert check_rev(rev) == rev
