import numpy as np
import pandas as pd
import pytest

from clipgan.bias import BiasConfig, bias_table, chi2_statistic, fisher_per_class, log_ratio, permutation_chi2


def test_log_ratio_by_hand():
    g, b = np.array([6, 2]), np.array([2, 6])
    # smoothed shares: (6.5/9, 2.5/9) vs (2.5/9, 6.5/9)
    expected = np.log(np.array([6.5, 2.5]) / np.array([2.5, 6.5]))
    assert np.allclose(log_ratio(g, b, 0.5), expected)
    assert np.allclose(log_ratio(g, g, 0.5), 0)


def test_fisher_by_hand():
    # [[3, 1], [1, 3]]: two-sided p = (1 + 16 + 16 + 1) / 70 = 0.4857...
    p = fisher_per_class(np.array([3, 1]), np.array([1, 3]))
    assert p[0] == pytest.approx(34 / 70)
    # [[5, 0], [0, 5]]: p = 2 / 252
    assert fisher_per_class(np.array([5, 0]), np.array([0, 5]))[0] == pytest.approx(2 / 252)


def test_chi2_by_hand():
    # [[10, 0], [0, 10]]: expected 5 everywhere, chi2 = 4 * 25 / 5 = 20
    assert chi2_statistic(np.array([[10, 0], [0, 10]])) == pytest.approx(20.0)
    assert chi2_statistic(np.array([[3, 0, 3], [3, 0, 3]])) == pytest.approx(0.0)  # empty column ignored


def test_permutation_test_separates_equal_from_different():
    rng = np.random.default_rng(0)
    assert permutation_chi2(np.array([10, 10, 10]), np.array([20, 20, 20]), 500, rng) > 0.5
    assert permutation_chi2(np.array([24, 0, 0]), np.array([10, 40, 46]), 500, rng) < 0.01


def _images(guided, unguided, classes):
    rows = []
    for prompt_id, counts in guided.items():
        for cls, n in zip(classes, counts):
            rows += [{"generator": "g", "prompt_id": prompt_id, "prompt": f"text {prompt_id}", "condition": "guided",
                      "predicted": cls}] * n
    for cls, n in zip(classes, unguided):
        rows += [{"generator": "g", "prompt_id": "", "prompt": "", "condition": "unguided", "predicted": cls}] * n
    return pd.DataFrame(rows)


def test_bias_table_rows_shares_and_cis():
    classes = ["a", "b", "c"]
    images = _images({"p": [20, 2, 2], "ctl": [8, 8, 8]}, [30, 30, 36], classes)
    bias = bias_table(images, classes, BiasConfig(n_bootstrap=500, n_permutations=500, control_prompt="ctl"))
    # p against unguided and against the control; ctl against unguided only
    assert len(bias) == 3 * 3
    row = bias[(bias.prompt_id == "p") & (bias.baseline == "unguided") & (bias["class"] == "a")].iloc[0]
    assert row.share_guided == pytest.approx(20 / 24)
    assert row.share_baseline == pytest.approx(30 / 96)
    assert row.share_guided_ci_low <= row.share_guided <= row.share_guided_ci_high
    assert row.log_ratio_ci_low > 0 and row.p_value < 0.01
    ctl = bias[(bias.prompt_id == "p") & (bias.baseline == "prompt:ctl") & (bias["class"] == "a")].iloc[0]
    assert ctl.share_baseline == pytest.approx(8 / 24)


def test_bias_table_is_deterministic_for_a_seed():
    classes = ["a", "b"]
    images = _images({"p": [5, 3]}, [4, 4], classes)
    cfg = BiasConfig(n_bootstrap=200, n_permutations=200, seed=3)
    pd.testing.assert_frame_equal(bias_table(images, classes, cfg), bias_table(images, classes, cfg))
