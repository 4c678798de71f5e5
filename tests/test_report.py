"""How the report writes numbers: no value printed beyond what it means."""

import numpy as np

from clipgan.report.figures import format_effect
from clipgan.report.html import format_p


def test_a_permutation_p_value_at_its_floor_reads_as_a_bound():
    assert format_p(1 / 2001, 2000) == "≤ 0.0005"
    assert format_p(3 / 2001, 2000) == "0.0015"
    assert format_p(1 / 2001) == "0.0005"  # an exact test's p-value has no floor
    assert format_p(np.nan) == "—"


def test_effects_infinite_and_missing():
    assert format_effect(np.inf) == "+∞" and format_effect(-np.inf) == "−∞"
    assert format_effect(np.nan) == "—" and format_effect(None) == "—"
    assert format_effect(0.5) == "+0.50"
