"""Tests for helpers.analysis.survey: the base sensitivity sentence and the claims check."""

from __future__ import annotations

import pandas as pd

from helpers.analysis.proportions import compare_shares
from helpers.analysis.survey import check_claims, describe_base_sensitivity, findings
from helpers.ingest.load import read_raw_table
from helpers.paths import DEFAULT_LAYOUT, raw_path

# --- base sensitivity and claims check -----------------------------------------------------


def test_base_sensitivity_says_the_conclusion_changes_when_significance_differs():
    all_respondents = compare_shares(44, 136, 59, 141)  # p = 0.014 (test_proportions.py)
    funds_only = compare_shares(44, 83, 59, 83)  # p = 0.062
    text = describe_base_sensitivity(
        {"all_respondents": all_respondents, "sovereign_wealth_funds": funds_only}, 0.95
    )
    assert text.startswith("Under all respondents the rise is significant at the 5% level")
    assert "under sovereign wealth funds only the rise is not significant" in text
    assert "the conclusion changes with the base" in text
    same = describe_base_sensitivity(
        {"all_respondents": all_respondents, "sovereign_wealth_funds": all_respondents}, 0.95
    )
    assert "the conclusion is the same under every base" in same


def test_findings_state_the_shift_the_base_and_the_claims_from_the_figures():
    all_respondents = compare_shares(44, 136, 59, 141)
    funds_only = compare_shares(44, 83, 59, 83)
    by_base = {"all_respondents": all_respondents, "sovereign_wealth_funds": funds_only}
    checked = pd.DataFrame({"verdict": ["supported", "supported", "misattributed"]})
    shift, base, claims = findings(by_base, "all_respondents", 0.95, checked)
    low, high = all_respondents.ci95_diff_pp
    assert shift == (
        "Taking the base as all respondents, the share rating China a high or moderate priority "
        f"rose from 44% to 59%: {all_respondents.diff_pp:+.1f} points (95% interval {low:+.1f} "
        f"to {high:+.1f}; p = {all_respondents.p_value:.3f}), significant at the 5% level."
    )
    assert base == (
        "Which base the shares are of decides the verdict: under sovereign wealth funds only "
        "the rise is not significant."
    )
    assert claims == (
        "Of 3 claims about the survey as outlets reported them, 2 supported, 1 misattributed, "
        "0 contradicted, 0 unverified."
    )
    same = findings({"all_respondents": all_respondents}, "all_respondents", 0.95, checked)
    assert same[1] == "Every possible base gives the same verdict."


def claim(claim_id, figure_id, group, share):
    return {
        "claim_id": claim_id,
        "figure_id": figure_id,
        "claim": "text",
        "group_claimed": group,
        "share_pct": share,
        "source": "somewhere",
    }


def test_check_claims_gives_each_verdict():
    figures = pd.DataFrame(
        {
            "figure_id": ["regional", "rumour"],
            "share_pct": [88.0, 78.0],
            "group_reported": ["sovereign investors, Asia-Pacific", "respondents"],
            "verified": [True, False],
        }
    )
    claims = pd.DataFrame(
        [
            claim("right", "regional", "Sovereign investors", 88.0),
            claim("wrong group", "regional", "asset management institutions", 88.0),
            claim("wrong share", "regional", "sovereign investors", 80.0),
            claim("thin source", "rumour", "respondents", 78.0),
            claim("no figure", None, "respondents", 50.0),
        ]
    )
    checked = check_claims(claims, figures).set_index("claim_id")
    assert checked["verdict"].to_dict() == {
        "right": "supported",
        "wrong group": "misattributed",
        "wrong share": "contradicted",
        "thin source": "unverified",
        "no figure": "unverified",
    }
    assert checked.loc["wrong group", "sourced group"] == "sovereign investors, Asia-Pacific"


def test_shipped_claims_verdicts():
    raw = DEFAULT_LAYOUT.raw_dir
    checked = check_claims(
        read_raw_table(raw_path(raw, "survey_claims"), "survey_claims"),
        read_raw_table(raw_path(raw, "survey_figures"), "survey_figures"),
    ).set_index("claim_id")["verdict"]
    # As sourced: the regional shares credited to asset managers are misattributed,
    # the 78% is unverified, the rest are as sourced.
    assert checked["regional_asia_pacific_asset_managers"] == "misattributed"
    assert checked["tech_competitive_78"] == "unverified"
    assert checked["priority_2025_sovereign_wealth_funds"] == "supported"
    assert checked["us_debt_central_banks"] == "supported"
    assert checked.value_counts().to_dict() == {"supported": 5, "misattributed": 3, "unverified": 1}
