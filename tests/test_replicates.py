"""Pooling a finding over replicates (random effects): unit cases and simulations of coverage and false positives."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from clipgan.replicates import POOLED_COLUMNS, pool_replicates, pool_row


def simulate(k: int, mu: float, tau: float, n_sims: int, seed: int = 0, p_baseline: float = 0.2):
    """Each replicate's true log odds ratio is mu + tau * N(0, 1); its counts are 24 guided vs 96 baseline images."""
    rng = np.random.default_rng(seed)
    covered, rejected, predicted = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(n_sims):
            theta = mu + tau * rng.standard_normal(k)
            guided = rng.binomial(24, expit(logit(p_baseline) + theta))
            baseline = rng.binomial(96, p_baseline, size=k)
            row = pool_row(guided, [24] * k, baseline, [96] * k, np.zeros(k))
            covered.append(row["pooled_ci_low"] <= mu <= row["pooled_ci_high"])
            rejected.append(row["p_value"] < 0.05)
            new = mu + tau * rng.standard_normal()
            predicted.append(row["prediction_low"] <= new <= row["prediction_high"])
    return np.mean(covered), np.mean(rejected), np.mean(predicted)


@pytest.mark.parametrize("k, mu, tau", [(3, 1.0, 0.5), (5, 0.0, 0.5), (5, 2.0, 1.0)])
def test_pooled_interval_covers_the_mean_effect(k, mu, tau):
    """Measured with 400 simulations: coverage 0.97-1.00 (the HKSJ interval, never narrower than the plain
    random-effects one, is conservative at few replicates); the prediction interval covers a new replicate's
    effect 0.90-0.92 of the time at k = 5 (below its nominal 0.95: few replicates estimate tau² poorly)."""
    coverage, _, prediction = simulate(k, mu, tau, 400)
    assert coverage >= 0.95 - 2 * np.sqrt(0.05 * 0.95 / 400), coverage
    assert prediction >= 0.85, prediction


@pytest.mark.parametrize("k, tau", [(3, 0.0), (5, 0.0), (5, 0.5)])
def test_no_effect_is_rarely_a_pooled_finding(k, tau):
    _, false_positive, _ = simulate(k, 0.0, tau, 400, seed=1)
    assert false_positive <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 400), false_positive


def test_a_consistent_effect_is_found_with_five_replicates():
    _, power, _ = simulate(5, 2.0, 0.5, 200, seed=2)
    assert power > 0.8, power


def bias_rows(replicate: int, counts: dict[str, tuple[int, int]], q: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame([{"replicate": replicate, "generator": "g", "prompt_id": "p", "prompt": "a p",
                          "baseline": "unguided", "class": c, "count_guided": cg, "n_guided": 24,
                          "count_baseline": cb, "n_baseline": 96,
                          "log_odds_ratio": np.log((cg + .5) / (24 - cg + .5) / ((cb + .5) / (96 - cb + .5))),
                          "q_value": q.get(c, 1.0)} for c, (cg, cb) in counts.items()])


def test_zero_cells_absent_classes_and_the_replicated_share():
    bias = pd.concat([
        bias_rows(0, {"a": (24, 10), "b": (0, 0), "c": (0, 40)}, {"a": 1e-6, "c": 1e-3}),
        bias_rows(1, {"a": (20, 12), "b": (0, 0), "c": (2, 30)}, {"a": 1e-4}),
        bias_rows(2, {"a": (8, 11), "b": (1, 0), "c": (3, 35)}, {}),
    ])
    pooled = pool_replicates(bias).set_index("class")
    assert list(pool_replicates(bias).columns) == POOLED_COLUMNS
    a = pooled.loc["a"]
    assert a.replicates == 3 and np.isfinite([a.pooled_effect, a.pooled_ci_low, a.pooled_ci_high]).all()
    assert a.pooled_effect > 0 and a.replicated_share == pytest.approx(2 / 3)
    b = pooled.loc["b"]  # an image in one replicate only: fewer than two estimates, nothing pooled
    assert b.replicates == 1 and np.isnan(b.pooled_effect) and np.isnan(b.q_value)
    c = pooled.loc["c"]
    assert c.pooled_effect < 0 and c.replicated_share == pytest.approx(1 / 3)  # one finding, in the pooled direction
    assert pooled.q_value.dropna().between(0, 1).all()


def test_two_replicates_have_no_prediction_interval():
    row = pool_row([20, 18], [24, 24], [10, 12], [96, 96], np.array([1, 1]))
    assert row["replicates"] == 2 and np.isnan(row["prediction_low"]) and row["replicated_share"] == 1.0


def test_log_odds_ratios_correct_only_tables_with_a_zero():
    from clipgan.replicates import log_odds_ratios

    effect, variance = log_odds_ratios([12, 24, 0], [24, 24, 24], [24, 0, 0], [96, 96, 96])
    assert effect[0] == pytest.approx(np.log(12 * 72 / (12 * 24)))  # no zero: the plain table, log 3 = 1.099
    assert variance[0] == pytest.approx(1 / 12 + 1 / 12 + 1 / 24 + 1 / 72)
    assert effect[1] == pytest.approx(np.log(24.5 * 96.5 / (0.5 * 0.5)))  # a zero: 0.5 in every cell
    assert effect[2] == pytest.approx(np.log(96.5 / 24.5))  # no image either way: pool_replicates leaves such out


def replicated_bias(planted: list[tuple[int, int]], seed: int = 0) -> dict[str, pd.DataFrame]:
    """Bias tables of replicates from images whose guided sets hold `planted` (guided, baseline) counts of
    mountain out of 24 and 96, the rest spread over two other classes: made by clipgan.bias itself."""
    from clipgan.bias import bias_table
    from clipgan.config import bias_config

    classes = ["forest", "mountain", "sea"]
    tables = {}
    for i, (guided, baseline) in enumerate(planted, start=1):
        rows = []
        for condition, n, k in (("guided", 24, guided), ("unguided", 96, baseline)):
            rest = n - k
            labels = ["mountain"] * k + ["forest"] * (rest // 2) + ["sea"] * (rest - rest // 2)
            rows += [{"generator": "g", "condition": condition, "prompt_id": "p" if condition == "guided" else "",
                      "prompt": "a p" if condition == "guided" else "", "predicted": label} for label in labels]
        tables[f"r{i}"] = bias_table(pd.DataFrame(rows), classes, bias_config({"n_permutations": 99}, seed + i))
    return tables


def test_a_finding_in_every_replicate_is_the_pooled_headline():
    from clipgan.replicates import replicate_effects, stack_replicates

    stacked = stack_replicates(replicated_bias([(20, 10), (22, 12), (18, 9)]))
    assert list(stacked.columns[:2]) == ["replicate", "generator"] and set(stacked.replicate) == {"r1", "r2", "r3"}
    pooled = pool_replicates(stacked)
    top = pooled[pooled.headline]
    assert list(top["class"]) == ["mountain"] and top.replicated_share.iloc[0] == 1.0 and top.replicated.iloc[0]
    row = top.iloc[0]
    assert row.pooled_ci_low > 0 and row.prediction_low <= row.pooled_effect <= row.prediction_high
    assert 0 <= row.between_share < 1 and row.within_variance > 0
    effects = replicate_effects(stacked)
    mountain = effects[effects["class"] == "mountain"]
    assert (mountain.effect_ci_low < mountain.effect).all() and (mountain.effect < mountain.effect_ci_high).all()


def test_a_finding_of_one_replicate_does_not_pool():
    from clipgan.replicates import stack_replicates

    stacked = stack_replicates(replicated_bias([(22, 10), (3, 10), (2, 11)]))
    assert stacked[stacked.headline]["replicate"].tolist() == ["r1"]  # r1 alone finds mountain
    pooled = pool_replicates(stacked)
    assert not pooled.headline.any() and not pooled.replicated.any()
    mountain = pooled.set_index("class").loc["mountain"]
    assert mountain.replicated_share == pytest.approx(1 / 3) and mountain.tau2 > 1


def test_the_pooled_report_plots_every_headline_and_names_lone_findings(tmp_path):
    from clipgan.replicates import stack_replicates
    from clipgan.report.pooled import forest_keys, write_pooled_report

    stacked = stack_replicates(replicated_bias([(22, 10), (3, 10), (2, 11)]))
    pooled = pool_replicates(stacked)
    assert forest_keys(pooled, stacked) == [("g", "p", "unguided", "mountain")]
    out = tmp_path / "report" / "index.html"
    reports = {r: str(tmp_path / "replicates" / r / "report" / "index.html") for r in ("r1", "r2", "r3")}
    write_pooled_report(pooled, stacked, str(out), reports, title="t", seed=0)
    page = out.read_text()
    assert "no class replicates (headlines of single replicates: r1: mountain)" in page
    assert "href='../replicates/r2/report/index.html'" in page
    assert (out.parent / "figures" / "forest_00.png").stat().st_size > 1000
    assert "<td>mountain</td><td>3</td>" in page  # the variance split names the plotted row


def test_a_finding_in_every_replicate_is_a_headline_even_when_the_pooled_test_cannot_pass():
    """The demo's planted row, as three replicates measured it: replicated, though a t test on 2 degrees of freedom
    over a study's rows cannot reach q < 0.05."""
    from clipgan.replicates import mark_pooled_headlines

    row = pool_row([22, 8, 20], [24] * 3, [3, 0, 7], [24] * 3, np.array([1, 1, 1]))
    assert row["replicated_share"] == 1.0 and row["pooled_ci_low"] > 0 and row["p_value"] > 0.01
    rows = pd.DataFrame([{"generator": "g", "prompt_id": "p", "baseline": "prompt:c", "class": "mountain",
                          "prompt": "a p", **row, "replicated": True, "q_value": 0.7}])
    assert mark_pooled_headlines(rows, fdr=0.05).headline.all()
    assert not mark_pooled_headlines(rows.assign(replicated=False), fdr=0.05).headline.any()


def test_the_first_replicate_is_the_study_and_the_others_differ():
    from clipgan.seeds import derive_seed, replicate_seed

    assert replicate_seed(7, "r1") == 7  # a study grown to replicates keeps its run as r1
    seeds = {replicate_seed(7, f"r{i}") for i in range(1, 6)}
    assert len(seeds) == 5 and replicate_seed(7, "r2") == derive_seed(7, "replicate", "r2")
    assert replicate_seed(8, "r2") != replicate_seed(7, "r2")
