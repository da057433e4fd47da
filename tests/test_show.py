"""What notebooks show (helpers.show): captions of long tables cut to their first rows."""

from __future__ import annotations

import pandas as pd

from helpers import show


def test_a_long_table_shows_its_first_rows_and_says_so():
    frame = pd.DataFrame({"ticker": [f"T{i}" for i in range(1200)], "flow_usd": 1.0})
    styler = show.table(frame, "Flagged fund-days", sample=True, first_rows=50)
    assert len(styler.data) == 50
    assert styler.caption == "Flagged fund-days (the first 50 of 1,200) (SAMPLE DATA (SYNTHETIC))"


def test_a_short_table_is_shown_whole():
    frame = pd.DataFrame({"flow_usd": [1.0, 2.0]})
    styler = show.table(frame, "Gaps", first_rows=50)
    assert len(styler.data) == 2
    assert styler.caption == "Gaps (the first 2 of 2)"
    assert show.table(frame, "Gaps").caption == "Gaps"
