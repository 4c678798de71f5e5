"""Second judges: zero-shot CLIP labels, agreement with the primary judge, and findings under every judge."""

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import REPO

CLASSES = ["buildings", "forest", "glacier", "mountain", "sea", "street"]


def tiny_clip():
    from clipgan.clip import ClipSpec, load_clip

    torch.manual_seed(0)
    return load_clip(ClipSpec(model="clipgan-tiny", config_file=str(REPO / "demo" / "models" / "clipgan-tiny.json")))


def test_zero_shot_probabilities_are_a_distribution_and_match_the_accuracy_rule():
    from clipgan.clip import zero_shot_accuracy, zero_shot_probabilities

    model, tokenizer = tiny_clip()
    images = torch.rand(10, 3, 32, 32) * 2 - 1
    probs = zero_shot_probabilities(model, tokenizer, images, CLASSES)
    assert probs.shape == (10, 6) and np.allclose(probs.sum(1), 1, atol=1e-5) and (probs >= 0).all()
    one = zero_shot_probabilities(model, tokenizer, images, CLASSES, templates=("a photo of {}",))
    uint8 = ((images.permute(0, 2, 3, 1).numpy() + 1) * 127.5).round().astype(np.uint8)
    labels = [CLASSES[i] for i in zero_shot_probabilities(
        model, tokenizer, torch.from_numpy(uint8).permute(0, 3, 1, 2).float() / 127.5 - 1, CLASSES,
        templates=("a photo of {}",)).argmax(1)]
    assert zero_shot_accuracy(model, tokenizer, uint8, labels, CLASSES) == 1.0
    assert not np.allclose(one, probs)  # the ensemble is not the single template


def labelled(primary, other, generator="g", condition="guided", restart=None):
    return pd.DataFrame({"generator": generator, "condition": condition, "predicted": primary,
                         "predicted_second": other, "restart": np.arange(len(primary)) if restart is None else restart})


def test_agreement_counts_kappa_and_its_interval():
    from sklearn.metrics import cohen_kappa_score

    from clipgan.judges import agreement

    rng = np.random.default_rng(1)
    primary = rng.choice(CLASSES, 60)
    other = np.where(rng.random(60) < 0.7, primary, rng.choice(CLASSES, 60))
    row = agreement(labelled(primary, other), ["second"], CLASSES, seed=3).iloc[0]
    assert row.n == 60 == row.clusters and row.agree == int((primary == other).sum())
    assert row.agreement_ci_low < row.agreement < row.agreement_ci_high
    assert row.kappa == pytest.approx(cohen_kappa_score(primary, other, labels=CLASSES))
    assert row.kappa_ci_low < row.kappa < row.kappa_ci_high
    same = agreement(labelled(primary, primary), ["second"], CLASSES).iloc[0]
    assert same.agreement == 1 == same.agreement_ci_low and same.kappa == pytest.approx(1)
    one_class = agreement(labelled(["sea"] * 5, ["sea"] * 5), ["second"], CLASSES).iloc[0]
    assert np.isnan(one_class.kappa) and one_class.agreement == 1  # kappa is undefined, not 0 or 1


def test_the_interval_resamples_restarts_not_images():
    """Four prompts' images of one restart share its pool slice: copies of 24 restarts' labels are 24 clusters, and
    their interval is as wide as the 24 images alone, not as if there were 96 independent ones."""
    from clipgan.judges import agreement

    rng = np.random.default_rng(4)
    primary = rng.choice(CLASSES, 24)
    other = np.where(rng.random(24) < 0.6, primary, rng.choice(CLASSES, 24))
    alone = agreement(labelled(primary, other), ["second"], CLASSES, seed=5).iloc[0]
    copies = agreement(labelled(np.tile(primary, 4), np.tile(other, 4), restart=np.tile(np.arange(24), 4)),
                       ["second"], CLASSES, seed=5).iloc[0]
    naive = agreement(labelled(np.tile(primary, 4), np.tile(other, 4)), ["second"], CLASSES, seed=5).iloc[0]
    assert copies.clusters == 24 and copies.n == 96 and copies.agreement == alone.agreement
    width = {name: r.agreement_ci_high - r.agreement_ci_low for name, r in
             [("alone", alone), ("copies", copies), ("naive", naive)]}
    assert width["copies"] == pytest.approx(width["alone"], abs=0.03) and width["naive"] < 0.7 * width["alone"]


def test_agreement_is_per_generator_and_condition():
    from clipgan.judges import agreement

    table = pd.concat([labelled(["sea"] * 4, ["sea"] * 4, condition="unguided"),
                       labelled(["sea", "forest"] * 2, ["forest", "sea"] * 2, condition="guided")])
    out = agreement(table, ["second"], CLASSES).set_index("condition")
    assert out.loc["unguided", "agreement"] == 1 and out.loc["guided", "agreement"] == 0


def test_the_bootstrap_kappas_are_scikit_learns():
    from sklearn.metrics import cohen_kappa_score

    from clipgan.judges import kappas

    rng = np.random.default_rng(2)
    first = rng.integers(0, 6, (50, 30))
    second = np.where(rng.random((50, 30)) < 0.5, first, rng.integers(0, 6, (50, 30)))
    expected = [cohen_kappa_score(a, b, labels=list(range(6))) for a, b in zip(first, second)]
    assert np.allclose(kappas(first, second, 6), expected)
    assert np.isnan(kappas(np.full((1, 5), 2), np.full((1, 5), 2), 6)[0])


def test_kappa_interval_covers_the_true_kappa():
    """Simulated rater pairs with a known population kappa: the bootstrap interval's coverage at 96 images."""
    from sklearn.metrics import cohen_kappa_score

    from clipgan.judges import agreement

    rng = np.random.default_rng(0)
    mix = np.array([0.3, 0.25, 0.1, 0.1, 0.15, 0.1])

    def pair(n):
        primary = rng.choice(CLASSES, n, p=mix)
        other = np.where(rng.random(n) < 0.6, primary, rng.choice(CLASSES, n, p=mix))
        return primary, other

    true_kappa = cohen_kappa_score(*pair(200_000), labels=CLASSES)
    true_share = np.mean(np.equal(*pair(200_000)))
    kappa_hits = share_hits = 0
    n_sims = 400
    for sim in range(n_sims):
        row = agreement(labelled(*pair(96)), ["second"], CLASSES, seed=sim, n_boot=1000).iloc[0]
        kappa_hits += row.kappa_ci_low <= true_kappa <= row.kappa_ci_high
        share_hits += row.agreement_ci_low <= true_share <= row.agreement_ci_high
    # nominal 0.95; measured 0.945 for kappa (0.93 at 24 images), a percentile bootstrap runs a little short
    assert kappa_hits / n_sims >= 0.91 and share_hits / n_sims >= 0.91, (kappa_hits / n_sims, share_hits / n_sims)


def bias_rows(judge_rows):
    """A bias table with one comparison and the given {class: (count_guided, count_baseline, log odds, q)}."""
    rows = [{"generator": "g", "prompt_id": "p", "prompt": "a p", "baseline": "unguided", "class": c,
             "count_guided": cg, "n_guided": 24, "count_baseline": cb, "n_baseline": 96, "log_odds_ratio": lor,
             "q_value": q} for c, (cg, cb, lor, q) in judge_rows.items()]
    return pd.DataFrame(rows)


def test_a_finding_that_one_judge_alone_makes_is_flagged():
    from clipgan.judges import findings_across_judges

    primary = bias_rows({"mountain": (19, 17, 2.8, 0.001), "sea": (1, 14, -1.5, 0.2), "forest": (2, 20, -1.0, 0.3)})
    second = bias_rows({"mountain": (18, 15, 2.7, 0.002), "sea": (6, 10, 0.9, 0.4), "forest": (0, 25, -3.5, 0.01)})
    third = bias_rows({"mountain": (9, 15, 1.0, 0.2), "sea": (2, 14, -1.2, 0.3), "forest": (1, 22, -2.0, 0.3)})
    others = pd.concat([second.assign(judge="second"), third.assign(judge="third")], ignore_index=True)
    out = findings_across_judges(primary, others, "resnet18", fdr=0.05)
    mountain, forest = out[out["class"] == "mountain"], out[out["class"] == "forest"]
    assert set(out["class"]) == {"mountain", "forest"}  # sea is a finding under no judge
    assert list(mountain.judge) == ["resnet18", "second", "third"]
    assert mountain.holds.tolist() == [True, True, False] and (mountain.holding_judges == 2).all()
    assert not mountain.one_judge_only.any()
    assert forest.holds.tolist() == [False, True, False] and forest.one_judge_only.all()


def test_a_finding_in_the_opposite_direction_does_not_hold():
    from clipgan.judges import findings_across_judges

    primary = bias_rows({"mountain": (19, 17, 2.8, 0.001)})
    second = bias_rows({"mountain": (0, 40, -3.0, 0.001)})
    out = findings_across_judges(primary, second.assign(judge="second"), "resnet18", fdr=0.05)
    assert out.holds.tolist() == [True, False] and out.contradicted.all() and not out.one_judge_only.any()


def test_opposite_findings_are_contradicted_not_one_judge_only():
    from clipgan.judges import findings_across_judges

    primary = bias_rows({"mountain": (19, 17, 2.8, 0.001)})
    second = bias_rows({"mountain": (0, 40, -3.0, 0.001)})
    third = bias_rows({"mountain": (10, 30, 0.5, 0.4)})
    others = pd.concat([second.assign(judge="second"), third.assign(judge="third")], ignore_index=True)
    out = findings_across_judges(primary, others, "resnet18", fdr=0.05)
    assert out.contradicted.all() and not out.one_judge_only.any() and out.holds.tolist() == [True, False, False]


def test_a_finding_of_second_judges_only_takes_the_first_ones_direction():
    from clipgan.judges import findings_across_judges

    primary = bias_rows({"sea": (3, 12, 0.1, 0.6)})
    others = pd.concat([bias_rows({"sea": (12, 12, 1.9, 0.01)}).assign(judge="a_clip"),
                        bias_rows({"sea": (11, 12, 1.7, 0.02)}).assign(judge="b_clip")], ignore_index=True)
    out = findings_across_judges(primary, others, "resnet18", fdr=0.05)
    assert list(out.judge) == ["resnet18", "a_clip", "b_clip"] and out.holds.tolist() == [False, True, True]
    assert (out.holding_judges == 2).all() and not out.one_judge_only.any() and not out.contradicted.any()


def test_no_second_judge_no_flags():
    from clipgan.judges import bias_by_judge, findings_across_judges

    primary = bias_rows({"mountain": (19, 17, 2.8, 0.001)})
    out = findings_across_judges(primary, pd.DataFrame(), "resnet18", fdr=0.05)
    assert len(out) == 1 and not out.one_judge_only.any()
    assert bias_by_judge(pd.DataFrame({"predicted": []}), [], CLASSES, None).empty
