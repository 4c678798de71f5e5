"""The judge measured against true classes: accuracy per condition, and findings from the true classes."""

import numpy as np
import pandas as pd
import pytest

from clipgan.bias import BiasConfig, bias_table
from clipgan.groundtruth import judge_accuracy, judge_against_truth, truth_bias, truth_verdicts

CLASSES = ["a", "b", "c"]


def images(rows) -> pd.DataFrame:
    """rows: (condition, prompt_id, true_class, predicted, count)."""
    out = []
    for condition, prompt_id, true, predicted, count in rows:
        out += [{"generator": "r", "condition": condition, "prompt_id": prompt_id, "prompt": prompt_id or "",
                 "true_class": true, "predicted": predicted}] * count
    frame = pd.DataFrame(out)
    frame["restart"] = np.arange(len(frame))
    return frame


def test_accuracy_per_condition_with_exact_interval_and_fisher_test():
    table = images([("unguided", "", "a", "a", 45), ("unguided", "", "b", "b", 45), ("unguided", "", "c", "a", 10),
                    ("guided", "p", "c", "a", 12), ("guided", "p", "c", "c", 12)])
    acc = judge_accuracy(table).set_index("condition")
    assert acc.loc["unguided", "correct"] == 90 and acc.loc["unguided", "n"] == 100
    assert acc.loc["guided", "accuracy"] == 0.5
    assert acc.loc["guided", "accuracy_ci_low"] == pytest.approx(0.2912, abs=1e-4)  # Clopper-Pearson 12/24
    assert acc.loc["guided", "p_vs_unguided"] < 1e-4 and np.isnan(acc.loc["unguided", "p_vs_unguided"])


def test_a_second_judges_accuracy_reads_its_own_labels():
    table = images([("unguided", "", "a", "a", 10), ("guided", "p", "b", "b", 10)])
    table["predicted_other"] = ["a"] * 10 + ["a"] * 4 + ["b"] * 6  # calls 4 of the guided b-images a
    primary = judge_accuracy(table).set_index("condition")
    other = judge_accuracy(table, labels="predicted_other").set_index("condition")
    assert primary.loc["guided", "correct"] == 10 and other.loc["guided", "correct"] == 6
    assert other.loc["unguided", "correct"] == 10


def test_rows_without_truth_are_left_out():
    table = images([("unguided", "", "a", "a", 5), ("guided", "p", "a", "a", 5)])
    table = pd.concat([table, table.assign(generator="gan", true_class=None)], ignore_index=True)
    assert set(judge_accuracy(table).generator) == {"r"}
    assert set(truth_bias(table, CLASSES, BiasConfig(n_permutations=99)).generator) == {"r"}


def test_a_judge_that_mislabels_the_searched_images_makes_a_finding_the_truth_does_not_have():
    """The search found c-images that the judge calls b: by the judge's labels the prompt favours b, by the truth
    it favours c. The comparison is flagged."""
    table = images([("unguided", "", "a", "a", 60), ("unguided", "", "b", "b", 20), ("unguided", "", "c", "c", 20),
                    ("guided", "p", "c", "b", 24)])
    cfg = BiasConfig(n_permutations=199)
    judged, truth = bias_table(table, CLASSES, cfg), truth_bias(table, CLASSES, cfg)
    both = judge_against_truth(judged, truth).set_index("baseline").loc["unguided"]
    assert both.judge_headline == "b" and both.true_headline == "c" and not both.agree

    # the report's summary asks of each flagged finding whether the truth makes it, in the same direction: b
    # favoured no; a disfavoured (0/24 either way) yes; c disfavoured no (the truth favours c)
    keys = [("r", "p", "unguided", c) for c in "bac"] + [("gan", "p", "unguided", "b")]
    verdicts = truth_verdicts(judged, truth, keys, cfg.fdr)
    assert verdicts == {keys[0]: "the true classes do not show it", keys[1]: "the true classes confirm it",
                        keys[2]: "the true classes do not show it"}


def test_a_perfect_judge_and_the_truth_agree_however_many_other_tests_the_study_has():
    """With the study's bias table, the true-class q-values are over the judge's tests: a judge that labels every
    known image right gives the truth's headlines exactly, even where a weak finding sits at the FDR line only
    because other generators add tests."""
    known = images([("unguided", "", "a", "a", 80), ("unguided", "", "b", "b", 16), ("guided", "p", "b", "b", 10),
                    ("guided", "p", "a", "a", 14)])
    rng = np.random.default_rng(0)
    noise = pd.DataFrame({"generator": "gan", "condition": ["unguided"] * 96 + ["guided"] * 24,
                          "prompt_id": [""] * 96 + ["p"] * 24, "prompt": [""] * 96 + ["p"] * 24,
                          "true_class": None, "predicted": rng.choice(CLASSES, 120)})
    noise["restart"] = np.arange(120)
    table = pd.concat([known, noise], ignore_index=True)
    cfg = BiasConfig(n_permutations=199)
    judged = bias_table(table, CLASSES, cfg)
    truth = truth_bias(table, CLASSES, cfg, judged)
    mine = judged[judged.generator == "r"].reset_index(drop=True)
    np.testing.assert_allclose(truth.q_value.to_numpy(), mine.q_value.to_numpy())
    assert judge_against_truth(judged, truth).agree.all()
    alone = truth_bias(table, CLASSES, cfg)  # q over the renderer's tests only: b a finding there, not in the study
    assert alone.headline.any() and not truth.headline.any()
    assert not judge_against_truth(judged, alone).agree.all()  # the flag that family would raise for no error
