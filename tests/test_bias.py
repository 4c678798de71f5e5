"""The bias statistics: unit cases by hand, and simulations of what they promise at the study's counts."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from clipgan.bias import (BiasConfig, add_q_values, bias_table, central_fisher_p, chi2_statistics, compare,
                          detectable_share, detection_power, has_estimate, headlines, log_odds_ratio, permutation_p,
                          share_interval)

DEMO_SIZES = (24, 96)  # guided images per prompt, unguided samples per generator
FULL_SIZES = (64, 256)
CITY_MIX = np.array([0.35, 0.35, 0.0, 0.0, 0.15, 0.15])  # buildings, forest, glacier, mountain, sea, street order
NATURE_MIX = np.array([0.15, 0.25, 0.10, 0.10, 0.25, 0.15])
CLASSES = ["buildings", "forest", "glacier", "mountain", "sea", "street"]


# ---------------------------------------------------------------------------------------------
# unit cases


def test_a_class_with_no_image_in_either_set_has_no_estimate():
    assert all(np.isnan(log_odds_ratio(0, 24, 0, 120)))
    rows = compare(np.array([0, 24]), np.array([0, 96]), BiasConfig(n_permutations=50), np.random.default_rng(0))
    assert rows.log_odds_ratio.isna().all() and rows.p_value.isna().all()  # one class holds every image: no effect


def test_fewer_guided_images_is_never_a_positive_effect():
    effect, low, high = log_odds_ratio(0, 24, 1, 120)  # 0/24 guided vs 1/96 baseline
    assert effect == -np.inf and low == -np.inf and high > 0
    effect, low, high = log_odds_ratio(1, 24, 5, 120)  # 1/24 vs 4/96: equal shares
    assert effect == pytest.approx(0, abs=1e-6) and low < 0 < high


def test_share_interval_of_all_and_none_is_exact():
    low, high = share_interval(np.array([24, 0]), 24)
    assert low[0] == pytest.approx(0.8575, abs=1e-4) and high[0] == 1
    assert low[1] == 0 and high[1] == pytest.approx(1 - 0.8575, abs=1e-4)


def test_central_fisher_by_hand():
    # [[3, 1], [1, 3]]: one-sided P(X >= 3) = (16 + 1) / 70; central p = 2 * 17 / 70
    assert central_fisher_p(np.array([3]), np.array([4]), 4, 4)[0] == pytest.approx(34 / 70)
    # [[5, 0], [0, 5]]: P(X = 5) = 1 / 252
    assert central_fisher_p(np.array([5]), np.array([5]), 5, 5)[0] == pytest.approx(2 / 252)
    for a, t in [(0, 14), (3, 10), (12, 20)]:
        table = [[a, 24 - a], [t - a, 96 - t + a]]
        one_sided = min(stats.fisher_exact(table, "less").pvalue, stats.fisher_exact(table, "greater").pvalue)
        assert central_fisher_p(np.array([a]), np.array([t]), 24, 96)[0] == pytest.approx(min(1, 2 * one_sided))


def test_the_interval_excludes_zero_exactly_when_the_test_rejects():
    """The issue's case (0/24 vs 14/96: interval excluded 0, Fisher p = 0.07) and every table at 24 vs 96."""
    effect, low, high = log_odds_ratio(0, 24, 14, 120)
    assert high > 0 and central_fisher_p(np.array([0]), np.array([14]), 24, 96)[0] > 0.05
    for total in (1, 5, 14, 30, 60):
        for a in range(max(0, total - 96), min(total, 24) + 1):
            _, low, high = log_odds_ratio(a, 24, total, 120)
            p = central_fisher_p(np.array([a]), np.array([total]), 24, 96)[0]
            assert (p < 0.05) == (low > 0 or high < 0), (a, total, p, low, high)


def test_chi2_by_hand():
    # [[10, 0], [0, 10]]: expected 5 everywhere, chi2 = 4 * 25 / 5 = 20
    assert chi2_statistics(np.array([10, 0]), np.array([10, 10]), 10, 10) == pytest.approx(20.0)
    assert chi2_statistics(np.array([3, 0, 3]), np.array([6, 0, 6]), 6, 6) == pytest.approx(0.0)  # empty class


def test_permutation_p_has_a_floor_and_separates_equal_from_different():
    assert permutation_p(5.0, np.zeros(99)) == pytest.approx(1 / 100)
    cfg = BiasConfig(n_permutations=500)
    equal = compare(np.array([10, 10, 10]), np.array([20, 20, 20]), cfg, np.random.default_rng(0))
    different = compare(np.array([24, 0, 0]), np.array([10, 40, 46]), cfg, np.random.default_rng(0))
    assert equal.p_value_omnibus.iloc[0] > 0.5
    assert different.p_value_omnibus.iloc[0] == pytest.approx(1 / 501)


def test_detectable_share_is_the_smallest_share_with_that_power():
    """Exact: the returned share reaches 80% power, one grid step (1/400) less does not."""
    for n_g, n_b, baseline, alpha in [(24, 96, 0.1, 0.05), (24, 24, 0.3, 0.05), (64, 256, 0.05, 0.05 / 216)]:
        share = detectable_share(n_g, n_b, np.array([baseline]), alpha)[0]
        assert baseline < share < 1
        assert detection_power(n_g, n_b, share, baseline, alpha)[0] >= 0.8
        assert detection_power(n_g, n_b, share - 1 / 400, baseline, alpha)[0] < 0.8
    # a stricter level needs a larger share; no share suffices at 9 images against a common class
    assert detectable_share(24, 96, np.array([0.1]), 0.05 / 216)[0] > detectable_share(24, 96, np.array([0.1]))[0]
    assert np.isnan(detectable_share(9, 96, np.array([0.6]), 0.05 / 216)[0])


def test_detection_power_by_simulation():
    rng = np.random.default_rng(1)
    g, b = rng.binomial(24, 0.45, 4000), rng.binomial(96, 0.1, 4000)
    p = central_fisher_p(g, g + b, 24, 96)
    simulated = np.mean((p < 0.05) & (g / 24 > b / 96))
    assert detection_power(24, 96, 0.45, 0.1)[0] == pytest.approx(simulated, abs=4 * np.sqrt(0.25 / 4000))


def _images(guided: dict, unguided, classes, generator="g"):
    rows = []
    for prompt_id, counts in guided.items():
        for cls, n in zip(classes, counts):
            rows += [{"generator": generator, "prompt_id": prompt_id, "prompt": f"text {prompt_id}",
                      "condition": "guided", "predicted": cls}] * n
    for cls, n in zip(classes, unguided):
        rows += [{"generator": generator, "prompt_id": "", "prompt": "", "condition": "unguided", "predicted": cls}] * n
    return pd.DataFrame(rows)


def test_bias_table_rows_shares_and_intervals():
    classes = ["a", "b", "c"]
    images = _images({"p": [20, 2, 2], "ctl": [8, 8, 8]}, [30, 30, 36], classes)
    bias = bias_table(images, classes, BiasConfig(n_permutations=500, control_prompt="ctl"))
    assert len(bias) == 3 * 3  # p against unguided and against the control; ctl against unguided only
    row = bias[(bias.prompt_id == "p") & (bias.baseline == "unguided") & (bias["class"] == "a")].iloc[0]
    assert row.share_guided == pytest.approx(20 / 24) and row.share_baseline == pytest.approx(30 / 96)
    assert row.share_guided_ci_low <= row.share_guided <= row.share_guided_ci_high
    assert row.log_odds_ratio_ci_low > 0 and row.q_value < 0.01 and row.headline
    assert row.q_value >= row.p_value
    ctl = bias[(bias.prompt_id == "p") & (bias.baseline == "prompt:ctl") & (bias["class"] == "a")].iloc[0]
    assert ctl.share_baseline == pytest.approx(8 / 24)
    assert bias.groupby(["generator", "prompt_id", "baseline"]).headline.sum().max() == 1


def test_the_headline_never_names_a_class_without_images():
    """The old summary named glacier for 0/24 vs 0/96 (a smoothed log-ratio of +1.30)."""
    images = _images({"landscape": [6, 6, 0, 0, 6, 6]}, [34, 33, 0, 0, 15, 14], CLASSES)
    bias = bias_table(images, CLASSES, BiasConfig(n_permutations=200))
    assert not bias.headline.any()
    glacier = bias[bias["class"] == "glacier"].iloc[0]
    assert np.isnan(glacier.log_odds_ratio) and np.isnan(glacier.q_value)
    assert headlines(bias)["class"].tolist() == [None]
    images = _images({"p": [20, 2, 2, 0, 0, 0], "q": [6, 6, 0, 0, 6, 6]}, [34, 33, 0, 0, 15, 14], CLASSES)
    named = headlines(bias_table(images, CLASSES, BiasConfig(n_permutations=50)))["class"]
    assert named.tolist() == ["buildings", None]


def test_bias_rows_do_not_depend_on_other_generators_or_prompts():
    classes = ["a", "b", "c"]
    cfg = BiasConfig(n_permutations=300, control_prompt="ctl", seed=3)
    small = _images({"p": [10, 8, 6], "ctl": [8, 8, 8]}, [30, 30, 36], classes)
    grown = pd.concat([_images({"p": [10, 8, 6], "ctl": [8, 8, 8], "new": [1, 2, 21]}, [30, 30, 36], classes),
                       _images({"p": [3, 3, 18]}, [40, 40, 16], classes, generator="another")])
    before, after = bias_table(small, classes, cfg), bias_table(grown, classes, cfg)
    keys = ["generator", "prompt_id", "baseline", "class"]
    joined = before.merge(after, on=keys, suffixes=("", "_after"))
    assert len(joined) == len(before)
    study_wide = ["q_value", "q_value_omnibus", "headline", "detectable_share"]
    for column in before.columns.difference(keys + study_wide + ["prompt"]):
        pd.testing.assert_series_equal(joined[column], joined[f"{column}_after"], check_names=False)


# ---------------------------------------------------------------------------------------------
# simulations: what the statistics promise, at the demo's and the full study's counts


@pytest.mark.parametrize("n", [DEMO_SIZES[0], FULL_SIZES[0], DEMO_SIZES[1]])
def test_share_intervals_cover_the_true_share(n):
    """Exact coverage over the binomial distribution (no Monte Carlo error), true shares 0.02 to 0.95."""
    low, high = share_interval(np.arange(n + 1), n)
    for share in (0.02, 0.05, 0.1, 0.3, 0.5, 0.8, 0.95):
        coverage = stats.binom.pmf(np.arange(n + 1), n, share)[(low <= share) & (share <= high)].sum()
        assert coverage >= 0.95, (n, share, coverage)


@pytest.mark.parametrize("p_guided,p_baseline", [(0.1, 0.1), (0.5, 0.1), (0.05, 0.3), (0.02, 0.02)])
def test_effect_intervals_cover_the_true_odds_ratio(p_guided, p_baseline):
    """Exact coverage at 24 vs 96, summed over every table of non-negligible probability (a 90% interval fails)."""
    truth = np.log(p_guided / (1 - p_guided) * (1 - p_baseline) / p_baseline)
    prob_a = stats.binom.pmf(np.arange(25), 24, p_guided)
    prob_c = stats.binom.pmf(np.arange(97), 96, p_baseline)
    covered = mass = 0.0
    for a in np.flatnonzero(prob_a > 1e-7):
        for c in np.flatnonzero(prob_c > 1e-7):
            weight = prob_a[a] * prob_c[c]
            mass += weight
            _, low, high = log_odds_ratio(int(a), 24, int(a + c), 120)
            covered += weight * (bool(low <= truth <= high) if not np.isnan(low) else True)  # no data: no claim
    assert mass > 1 - 1e-5
    assert covered >= 0.95 - 1e-5, covered


def _null_study_counts(rng, sizes, mixes, prompts=2):
    """Class counts of one study with no bias anywhere: every set drawn from its generator's mix."""
    n_guided, n_unguided = sizes
    out = []
    for mix in mixes:
        unguided = rng.multinomial(n_unguided, mix)
        guided = [rng.multinomial(n_guided, mix) for _ in range(prompts)]
        out += [(g, unguided) for g in guided] + [(guided[0], guided[1])]  # both vs unguided, one vs the control
    return out


def _null_study_p_values(rng, sizes) -> pd.DataFrame:
    """The per-class p-values of one null study, as rows `add_q_values` takes (one comparison per group)."""
    rows = []
    for i, (guided, baseline) in enumerate(_null_study_counts(rng, sizes, [CITY_MIX, NATURE_MIX])):
        totals = guided + baseline
        estimable = has_estimate(totals, guided.sum() + baseline.sum())
        p = np.where(estimable, central_fisher_p(guided, totals, guided.sum(), baseline.sum()), np.nan)
        rows.append(pd.DataFrame({"generator": "g", "prompt_id": str(i), "baseline": "b", "p_value": p,
                                  "p_value_omnibus": 1.0}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("sizes", [DEMO_SIZES, FULL_SIZES], ids=["demo", "full"])
def test_no_bias_gives_no_finding_in_at_least_95_percent_of_studies(sizes):
    """The library's q-values over a whole null study: P(any q < 0.05) <= 0.05 + Monte Carlo error.

    The same studies read with uncorrected p-values find something far more often: the check can fail.
    """
    rng = np.random.default_rng(7)
    n_studies, corrected, uncorrected = 1000, 0, 0
    for _ in range(n_studies):
        bias = add_q_values(_null_study_p_values(rng, sizes))
        corrected += bias.q_value.min() < 0.05
        uncorrected += bias.p_value.min() < 0.05
    limit = 0.05 + 2 * np.sqrt(0.05 * 0.95 / n_studies)
    assert corrected / n_studies <= limit, corrected / n_studies
    assert uncorrected / n_studies > limit, uncorrected / n_studies


def test_no_bias_omnibus_tests_stay_quiet():
    """The permutation chi-square p-values over a null study, through bias_table itself."""
    rng = np.random.default_rng(11)
    n_studies, any_finding = 150, 0
    cfg = BiasConfig(n_permutations=199, control_prompt="ctl")
    for s in range(n_studies):
        frames = []
        for gen, mix in (("city", CITY_MIX), ("nature", NATURE_MIX)):
            frames.append(_images({"p": rng.multinomial(24, mix), "ctl": rng.multinomial(24, mix)},
                                  rng.multinomial(96, mix), CLASSES, generator=gen))
        bias = bias_table(pd.concat(frames), CLASSES, BiasConfig(**{**cfg.__dict__, "seed": s}))
        any_finding += bias.q_value_omnibus.min() < 0.05
    rate = any_finding / n_studies
    assert rate <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / n_studies), rate


def test_no_bias_names_a_headline_in_at_most_5_percent_of_comparisons():
    """Under no bias the largest smoothed log-ratio named a ghost class 99.6% of the time; the new rule stays quiet."""
    rng = np.random.default_rng(2)
    named = 0
    for s in range(300):
        images = _images({"p": rng.multinomial(24, CITY_MIX)}, rng.multinomial(96, CITY_MIX), CLASSES)
        bias = bias_table(images, CLASSES, BiasConfig(n_permutations=99, seed=s))
        named += bias.headline.any()
    assert named / 300 <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 300)


def test_the_prompt_free_search_is_a_baseline_of_every_prompt():
    from clipgan.bias import comparisons

    rows = [{"generator": "g", "condition": "guided", "prompt_id": pid, "prompt": pid, "predicted": "sea"}
            for pid in ("planted", "control", "prompt_free") for _ in range(4)]
    rows += [{"generator": "g", "condition": "unguided", "prompt_id": "", "prompt": "", "predicted": "sea"}] * 8
    planned = sorted((pid, baseline) for _, pid, _, baseline, _, _ in
                     comparisons(pd.DataFrame(rows), ["sea", "forest"], control_prompt="control"))
    assert planned == [("control", "prompt:prompt_free"), ("control", "unguided"),
                       ("planted", "prompt:control"), ("planted", "prompt:prompt_free"), ("planted", "unguided"),
                       ("prompt_free", "unguided")]
