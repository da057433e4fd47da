"""The charts' palette and number labels."""

from __future__ import annotations

from matplotlib.colors import to_rgb

from helpers.present import plots


def _contrast_against_white(colour: str) -> float:
    """WCAG 2 contrast ratio of `colour` on white."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(colour)]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def test_cohort_colours_are_colour_blind_safe_and_stand_out_on_white():
    colours = list(plots.COHORT_COLOURS.values())
    assert len(set(colours)) == len(colours)
    assert set(colours) <= set(plots.OKABE_ITO.values())
    assert all(_contrast_against_white(c) >= 3 for c in colours)
    assert plots.DIVERGING not in {"RdYlGn", "RdYlGn_r", "PiYG", "PRGn"}


def test_axis_labels_use_a_true_minus_sign():
    assert plots.USD_BN(-2.5e9, 0) == "\u22122.50"
    assert plots.PERCENT(-4, 0) == "\u22124%"
    assert (plots.USD_BN(0.0, 0), plots.PERCENT(0.0, 0)) == ("0", "0%")
