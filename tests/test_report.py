"""How the report writes numbers: no value printed beyond what it means."""

import numpy as np

from clipgan.report.figures import format_effect, format_effect_interval
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
    assert format_effect_interval(-np.inf, 0.5) == "[−∞, +0.50]"


def test_the_report_links_every_section_from_under_its_title():
    from clipgan.report.html import _with_contents

    page = _with_contents("<h1>t</h1><p class='note'>versions</p><h2>Summary</h2><p>a</p><h2>dcgan_city</h2>"
                          "<h2>How to read this</h2><h2>Summary</h2>")
    assert page.index("Contents:") < page.index("<h2")  # under the title, before the first section
    for slug in ("summary", "dcgan-city", "how-to-read-this"):
        assert f"<h2 id='{slug}'>" in page and f"href='#{slug}'" in page
    ids = [part.split("'")[0] for part in page.split("<h2 id='")[1:]]
    assert len(ids) == len(set(ids)) == 4  # a repeated heading gets an id of its own
    assert _with_contents("<h1>t</h1><p>no sections</p>") == "<h1>t</h1><p>no sections</p>"
