"""The human audit: the sample a person labels, the labels file's checks, and the correction of the study's shares
for the judge's measured error (a simulation of its coverage)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from clipgan.audit import (NONE_LABEL, AuditConfig, AuditLabelsError, audit_sample, audited, corrected_findings,
                           corrected_mixes, corrected_shares, read_labels)
from clipgan.bias import BiasConfig, bias_table

REPO = Path(__file__).resolve().parents[1]
CLASSES = ["buildings", "forest", "glacier", "mountain", "sea", "street"]


def study_table(generators=("gan_a", "gan_b"), prompts=("p1", "p2", "p3"), n_guided=24, n_unguided=96):
    rows = []
    for generator in generators:
        for prompt_id in list(prompts) + [""]:
            condition = "guided" if prompt_id else "unguided"
            for i in range(n_guided if prompt_id else n_unguided):
                folder = f"search/{generator}/{prompt_id}" if prompt_id else f"unguided/{generator}"
                rows.append({"generator": generator, "prompt_id": prompt_id, "prompt": prompt_id,
                             "condition": condition, "restart": i, "image_path": f"results/{folder}/{i:03d}.png",
                             "predicted": CLASSES[i % 6], "true_class": None})
    return pd.DataFrame(rows)


def test_the_sample_is_stratified_by_condition_seeded_and_hides_the_condition():
    table = study_table()
    sample = audit_sample(table, 100, seed=0)
    per_set = sample.groupby(["generator", "prompt_id"]).size()
    for generator in ("gan_a", "gan_b"):
        assert per_set[(generator, "")] == 50  # half unguided
        assert sorted(per_set[generator].drop("").tolist()) == [16, 17, 17]  # the rest evenly over the prompts
    assert sample.image_path.is_unique and list(sample.position) == list(range(200))
    assert pd.testing.assert_frame_equal(sample, audit_sample(table, 100, seed=0)) is None
    assert set(audit_sample(table, 100, seed=1).image_path) != set(sample.image_path)
    for image in sample.image_id:  # the id says nothing about where the image is from
        assert not any(word in image for word in ("gan", "p1", "unguided", "search")) and len(image) == 12
    # shuffled across generators and conditions, not grouped
    assert sample.generator.iloc[:100].nunique() == 2 and sample.condition.iloc[:20].nunique() == 2


def test_adding_a_generator_or_a_prompt_keeps_every_other_sets_picks():
    before = audit_sample(study_table(), 100, seed=0)
    after = audit_sample(study_table(generators=("gan_a", "gan_b", "gan_0")), 100, seed=0)
    keep = after[after.generator != "gan_0"]
    assert set(keep.image_path) == set(before.image_path)
    more_prompts = audit_sample(study_table(prompts=("p1", "p2", "p3", "p4")), 100, seed=0)
    unguided = more_prompts[more_prompts.condition == "unguided"]
    assert set(unguided.image_path) == set(before[before.condition == "unguided"].image_path)


def test_a_set_smaller_than_its_share_is_taken_whole():
    sample = audit_sample(study_table(generators=("g",), prompts=("p",), n_guided=5, n_unguided=8), 100, seed=0)
    assert sample.groupby("prompt_id").size().to_dict() == {"": 8, "p": 5}


def write_labels(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("lines, message", [
    (["id,label"], "row 1: expected the header 'image_id,label'"),
    ([], "row 1: expected the header 'image_id,label', found 'an empty file'"),
    (["image_id,label", "{0},forest,extra"], "row 2: 3 fields, expected 2"),
    (["image_id,label", "{0},forest", "abcdef123456,forest"], "row 3: image id 'abcdef123456' is not in this study"),
    (["image_id,label", "{0},Forest"], "row 2: label 'Forest' is not one of buildings, forest, glacier, mountain, "
                                       "sea, street, none"),
    (["image_id,label", "{0},forest", "", "{1},sea", "{0},sea"], "row 5: image {0} is labelled again (first on row 2)"),
    (["image_id,label"], "no labels after the header"),
])
def test_a_bad_labels_file_is_refused_naming_the_row(tmp_path, lines, message):
    sample = audit_sample(study_table(), 20, seed=0)
    ids = list(sample.image_id)
    path = write_labels(tmp_path / "labels.csv", [line.format(*ids) for line in lines])
    with pytest.raises(AuditLabelsError, match=message.format(*ids).replace("(", r"\(").replace(")", r"\)")):
        read_labels(path, sample, CLASSES)


def test_partial_labels_with_blank_lines_and_a_byte_order_mark_are_read(tmp_path):
    sample = audit_sample(study_table(), 20, seed=0)
    path = tmp_path / "labels.csv"
    path.write_text("\ufeffimage_id,label\r\n" + f"{sample.image_id[0]},none\r\n\r\n{sample.image_id[3]}, sea \r\n")
    labels = read_labels(path, sample, CLASSES)
    assert labels[["image_id", "label", "row"]].values.tolist() == [[sample.image_id[0], NONE_LABEL, 2],
                                                                     [sample.image_id[3], "sea", 4]]


# ------------------------------------------------------------------------------------------------
# the correction

def renderer_nature_mix() -> np.ndarray:
    """The renderer generator's prior class mix: by construction, the mix of the domain it draws (demo: nature)."""
    mix = yaml.safe_load((REPO / "demo" / "config.yaml").read_text())["datasets"]["nature"]["class_mix"]
    return np.array([mix.get(c, 0.0) for c in CLASSES])


GUIDED_MIX = np.array([0.06, 0.10, 0.10, 0.60, 0.08, 0.06])  # a search that favours mountain


def simulated_study(rng: np.random.Generator, mislabel: float = 0.3, prompts=("a", "b", "c", "d"),
                    guided_mix: np.ndarray = GUIDED_MIX, mixes: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """A renderer generator's images with their true classes, and a judge that calls `mislabel` of the mountains
    glacier (and is right otherwise). `mixes`: a true mix per prompt id ("" unguided) instead of one for all."""
    rows = []
    for prompt_id in list(prompts) + [""]:
        n, mix = (24, guided_mix) if prompt_id else (96, renderer_nature_mix())
        if mixes is not None:
            mix = mixes[prompt_id]
        true = rng.choice(len(CLASSES), size=n, p=mix)
        judged = np.where((true == CLASSES.index("mountain")) & (rng.random(n) < mislabel), CLASSES.index("glacier"),
                          true)
        for i in range(n):
            rows.append({"generator": "renderer_nature", "prompt_id": prompt_id, "prompt": prompt_id,
                         "condition": "guided" if prompt_id else "unguided", "restart": i,
                         "image_path": f"{prompt_id or 'unguided'}/{i:03d}.png", "predicted": CLASSES[judged[i]],
                         "true_class": CLASSES[true[i]]})
    return pd.DataFrame(rows)


def audit_of(table: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """A person who labels every sampled image with its true class."""
    sample = audit_sample(table, n, seed)
    return audited(sample, sample[["image_id"]].assign(label=sample.true_class))


def coverage_of(mixes: dict[str, np.ndarray], n_studies: int, sets=("", "a")) -> pd.Series:
    """Per (set, class): the share of simulated studies whose corrected 95% interval covers the true share. The
    judge calls 30% of mountains glacier; 24 images per prompt, 96 unguided; an audit of 100 images."""
    covered = []
    cfg = AuditConfig(draws=1000)
    for seed in range(n_studies):
        rng = np.random.default_rng(seed)
        table = simulated_study(rng, prompts=tuple(p for p in mixes if p), mixes=mixes)
        shares = corrected_shares(table, audit_of(table, 100, seed), CLASSES, cfg, seed)
        for r in shares[shares.prompt_id.isin(sets) & (shares["class"] != NONE_LABEL)].to_dict("records"):
            truth = mixes[r["prompt_id"]][CLASSES.index(r["class"])]
            covered.append((r["prompt_id"] or "unguided", r["class"], r["corrected_ci_low"] <= truth
                            <= r["corrected_ci_high"]))
    coverage = pd.DataFrame(covered, columns=["set", "class", "covered"]).groupby(["set", "class"]).covered.mean()
    print(coverage.unstack().round(2).to_string(), "\npooled", coverage.mean())
    return coverage


@pytest.mark.slow
def test_corrected_shares_cover_the_true_shares_under_a_known_confusion():
    """The issue's check: 30% of mountains called glacier, an audit of 100 images (50 unguided, 50 guided), and
    the corrected shares' 95% intervals cover the true shares in at least 95% of simulated studies (pooled over the
    classes of one guided set and the unguided set; no class below 85%: the prior pulls the guided set's large
    mountain share, 0.6, down). Measured: 0.97 pooled, lowest 0.90 (mountain)."""
    coverage = coverage_of({"": renderer_nature_mix(), **{p: GUIDED_MIX for p in "abcd"}}, 200)
    assert coverage.mean() >= 0.95 and coverage.min() >= 0.85, coverage


@pytest.mark.slow
def test_the_correction_holds_when_prompts_move_the_mix_apart():
    """The judge's errors are modelled per true class, so they carry over between prompts whose mixes differ: one
    prompt's images are 75% mountain, three prompts' 75% glacier (a model of P(true | judge label) pooled over the
    prompts covered the mountain prompt's shares 14% of the time here). Measured: 0.98 pooled, lowest 0.84 (the
    mountain prompt's mountain share, 0.75, pulled down by the prior)."""
    mostly = {c: np.where(np.array(CLASSES) == c, 0.75, 0.05) for c in ("mountain", "glacier")}
    mixes = {"": renderer_nature_mix(), "a": mostly["mountain"], "b": mostly["glacier"], "c": mostly["glacier"],
             "d": mostly["glacier"]}
    coverage = coverage_of(mixes, 100, sets=("", "a", "b"))
    assert coverage.mean() >= 0.95 and coverage.min() >= 0.80, coverage


def test_the_judges_own_shares_miss_what_the_correction_recovers():
    """One study: the judge's guided mountain share is off by the glacier it called; the corrected interval is
    not, and it is tighter around the truth than the judge's share is near it."""
    rng = np.random.default_rng(3)
    table = simulated_study(rng)
    shares = corrected_shares(table, audit_of(table, 100, 3), CLASSES, AuditConfig(draws=2000), 3)
    mountain = shares[(shares.prompt_id == "a") & (shares["class"] == "mountain")].iloc[0]
    truth = table[table.prompt_id == "a"].true_class.eq("mountain").mean()
    assert mountain.judge_share < truth - 0.1, (mountain.judge_share, truth)
    assert mountain.corrected_ci_low <= truth <= mountain.corrected_ci_high
    assert abs(mountain.corrected_share - truth) < abs(mountain.judge_share - truth)


def test_a_finding_the_judge_made_is_flagged_and_one_it_did_not_make_holds():
    """On guided images the judge calls 60% of forests glacier (it errs where the search goes; on unguided images
    it is right). One prompt's images have the unguided mix: the judge finds glacier favoured, the audit-corrected
    mix does not. Another prompt really raises mountain: that finding holds."""
    rng = np.random.default_rng(0)
    rows = []
    for prompt_id, mix in (("made", renderer_nature_mix()), ("real", GUIDED_MIX), ("", renderer_nature_mix())):
        n = 96 if prompt_id else 192
        true = rng.choice(len(CLASSES), size=n, p=mix)
        errs = (true == CLASSES.index("forest")) & (rng.random(n) < 0.6) & bool(prompt_id)
        judged = np.where(errs, CLASSES.index("glacier"), true)
        rows += [{"generator": "r", "prompt_id": prompt_id, "prompt": prompt_id,
                  "condition": "guided" if prompt_id else "unguided", "restart": i, "image_path": f"{prompt_id}/{i}",
                  "predicted": CLASSES[judged[i]], "true_class": CLASSES[true[i]]} for i in range(n)]
    table = pd.DataFrame(rows)
    bias = bias_table(table, CLASSES, BiasConfig(n_permutations=99))
    mixes = corrected_mixes(table, audit_of(table, 200, 0), CLASSES, AuditConfig(draws=2000), 0)
    findings = corrected_findings(bias, mixes, CLASSES, fdr=0.05).set_index(["prompt_id", "baseline", "class"])
    made, real = findings.loc[("made", "unguided", "glacier")], findings.loc[("real", "unguided", "mountain")]
    assert made.finding and made.judge_q_value < 0.05 and not made.corrected_finding and made.change == "lost", made
    assert made.corrected_difference_ci_low < 0 < made.corrected_difference_ci_high
    assert real.finding and real.corrected_finding and not real.changed and real.corrected_difference > 0.2, real
    assert set(findings.change) <= {"", "lost", "gained", "reversed"}


def test_a_condition_without_audited_images_is_not_corrected():
    table = study_table(generators=("g",), prompts=("p",))
    sample = audit_sample(table, 10, seed=0)
    pairs = audited(sample[sample.condition == "unguided"], sample[["image_id"]].assign(label="forest"))
    shares = corrected_shares(table, pairs, CLASSES, AuditConfig(draws=200), 0)
    assert set(shares.condition) == {"unguided"} and set(shares["class"]) == set(CLASSES) | {NONE_LABEL}
    assert (shares.n_audited == 5).all()
    forest = shares.set_index("class").loc["forest"]  # the person saw forest in all 5: the true mix leans to it
    assert forest.corrected_share > forest.judge_share


@pytest.mark.slow
def test_no_bias_makes_few_corrected_findings():
    """False-positive rate: every set has the renderer's prior mix and the judge calls 30% of mountains glacier in
    both conditions. The share of simulated studies (4 prompts x 24 vs 96 unguided, one of them the control) with
    any corrected finding stays at the level, 0.05, within Monte Carlo error; so does the judge-label posterior
    test the verdict compares it with. (Measured: 0.02 and 0.06 over 100 studies.)"""
    any_corrected, any_judge = [], []
    for seed in range(100):
        rng = np.random.default_rng(seed)
        table = simulated_study(rng, prompts=("a", "b", "c", "control"), guided_mix=renderer_nature_mix())
        bias = bias_table(table, CLASSES, BiasConfig(n_permutations=99, control_prompt="control"))
        mixes = corrected_mixes(table, audit_of(table, 100, seed), CLASSES, AuditConfig(draws=2000), seed)
        findings = corrected_findings(bias, mixes, CLASSES, fdr=0.05)
        any_corrected.append(findings.corrected_finding.any())
        any_judge.append((findings.judge_q_value < 0.05).any())
    print("any corrected finding", np.mean(any_corrected), "any judge-posterior finding", np.mean(any_judge))
    assert np.mean(any_corrected) <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 100)
    assert np.mean(any_judge) <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 100)
