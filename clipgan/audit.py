"""A person checks the judge on the study's own images, and the bias statistics are corrected with what they saw.

No image of a trained or pretrained GAN has a known class, and the judge learned on photographs or rendered
scenes, not on generated images. The audit page (`results/audit/index.html`, written by
`clipgan.report.audit_page`) shows a seeded sample of each generator's images, half unguided and half guided
(spread evenly over its prompts), in shuffled order and with nothing on screen that tells the condition. A person
gives each image one of the study's classes or "none of these", and downloads `labels.csv` (image_id, label).

With `audit.labels` set, the judge's error measured on that sample corrects the study's shares. The model, per
generator and condition: each image set (a prompt's guided images, or the unguided ones) has its own true mix
over the classes and "none"; the judge gives an image of true answer t the label j with probability M[t, j], the
same for every set of the condition, since its errors depend on what an image shows, not on which prompt made it.
(P(true | judge label), the other way round, would not carry over: it depends on each set's mix, which is what
the search changes.) The audited images give pairs (answer, label); every other image gives a label only. A Gibbs
sampler draws the unlabelled images' true answers, the mixes and M in turn (`true_mix_draws`), so the intervals
carry the audit sample's error and the images' sampling error together. A finding whose sign or significance the
correction changes, by more than the audit's own uncertainty, is flagged (`corrected_findings`).

Priors: `prior_mass` (default 3.5, Jeffreys' 0.5 per answer) spread evenly over the answers of each mix and over
the labels of each row of M; the judge's own label mixes, which the tests compare against, get the same 0.5 per
class. In simulations at 24 images per set, with a judge that calls 30% of mountains glacier and an audit of 100
images per generator, 97-98% of the 95% intervals covered the true shares, whether the prompts share one
mix or not; classes of share 0.05 to 0.5 in 93-100%, a share of 0.6 to 0.75 in 84-90% (the prior pulls large
shares down). A smaller prior covers large shares better and small ones worse (mass 1: a share of 0.08 in 81%),
and its posterior tail probabilities, read as p-values, are too liberal (mass 2: a false finding in 8-12% of
studies with no bias, against 2-8% with this one).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from clipgan.seeds import derive_seed

NONE_LABEL = "none"  # the person's answer for an image that shows none of the classes
SAMPLE_COLUMNS = ["image_id", "position", "generator", "condition", "prompt_id", "image_path", "predicted",
                  "true_class"]


@dataclass
class AuditConfig:
    n_per_generator: int = 100  # images to label per generator: half unguided, half guided
    labels: str = ""  # a labels.csv downloaded from the audit page; empty: no correction
    prior_mass: float = 3.5  # Dirichlet prior mass of each set's mix and each row of the judge's errors (Jeffreys)
    draws: int = 4000  # posterior draws behind each interval
    confidence: float = 0.95


class AuditLabelsError(ValueError):
    """A labels file that does not belong to this study's audit sample, or cannot be read."""


def image_id(image_path: str) -> str:
    """A short id that names an image without telling its generator, prompt or condition."""
    return hashlib.blake2b(image_path.encode(), digest_size=6).hexdigest()


def _allocation(n: int, prompts: Sequence[str]) -> dict[str, int]:
    """Half of n to the unguided images (the larger half), the rest evenly over the prompts' guided sets."""
    n_unguided = (n + 1) // 2 if prompts else n
    share, extra = divmod(n - n_unguided, max(len(prompts), 1))
    return {"": n_unguided, **{p: share + (i < extra) for i, p in enumerate(sorted(prompts))}}


def audit_sample(table: pd.DataFrame, n_per_generator: int, seed: int) -> pd.DataFrame:
    """The images to label: per generator, a random sample stratified by condition (`_allocation`), every set
    drawn from its own named stream; then all of them in one shuffled order (`position`).

    A set smaller than its allocation is taken whole."""
    picked = []
    for generator, frame in table.groupby("generator", sort=True):
        prompts = sorted(set(frame.loc[frame.condition == "guided", "prompt_id"]))
        for prompt_id, n in _allocation(n_per_generator, prompts).items():
            condition = "guided" if prompt_id else "unguided"
            pool = frame[(frame.condition == condition) & (frame.prompt_id == prompt_id)].sort_values("restart")
            rng = np.random.default_rng(derive_seed(seed, "audit", generator, prompt_id or "unguided"))
            picked.append(pool.iloc[np.sort(rng.choice(len(pool), size=min(n, len(pool)), replace=False))])
    sample = pd.concat(picked, ignore_index=True) if picked else table.iloc[:0].copy()
    order = np.random.default_rng(derive_seed(seed, "audit", "order")).permutation(len(sample))
    sample = sample.iloc[order].reset_index(drop=True)
    sample["image_id"] = [image_id(p) for p in sample.image_path]
    sample["position"] = np.arange(len(sample))
    if "true_class" not in sample:
        sample["true_class"] = None
    return sample[SAMPLE_COLUMNS]


def read_labels(path: str | Path, sample: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    """The labels.csv of the audit page, checked row by row against the sample and the classes.

    Returns (image_id, label, row). Raises AuditLabelsError naming the file and the row for: a missing or wrong
    header, a row without exactly two fields, an image id not in this study's sample, a label that is not a
    class or "none", an image labelled twice. Images left unlabelled are allowed."""
    answers = list(classes) + [NONE_LABEL]
    known = set(sample.image_id)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise AuditLabelsError(f"audit labels {path}: cannot be read ({err})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != ["image_id", "label"]:
        raise AuditLabelsError(f"audit labels {path}, row 1: expected the header 'image_id,label', found "
                               f"{','.join(header) if header else 'an empty file'!r}")
    rows, first_row = [], {}
    for row in reader:
        number = reader.line_num
        if not any(field.strip() for field in row):
            continue  # a blank line
        if len(row) != 2:
            raise AuditLabelsError(f"audit labels {path}, row {number}: {len(row)} fields, expected 2 "
                                   f"(image_id,label): {','.join(row)!r}")
        image, label = row[0].strip(), row[1].strip()
        if image not in known:
            raise AuditLabelsError(f"audit labels {path}, row {number}: image id {image!r} is not in this study's "
                                   "audit sample (results/audit/sample.parquet): labels from another study, or "
                                   "from before the sample changed?")
        if label not in answers:
            raise AuditLabelsError(f"audit labels {path}, row {number}: label {label!r} is not one of "
                                   f"{', '.join(answers)}")
        if image in first_row:
            raise AuditLabelsError(f"audit labels {path}, row {number}: image {image} is labelled again (first on "
                                   f"row {first_row[image]})")
        first_row[image] = number
        rows.append((image, label, number))
    if not rows:
        raise AuditLabelsError(f"audit labels {path}: no labels after the header")
    return pd.DataFrame(rows, columns=["image_id", "label", "row"])


def audited(sample: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """The sample's labelled images: their judge label (`predicted`) beside the person's (`label`)."""
    return sample.merge(labels[["image_id", "label"]], on="image_id", how="inner")


def _dirichlet_rows(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """One Dirichlet draw per row of `alpha` (..., K), through normalised gamma draws."""
    g = rng.gamma(alpha)
    return g / g.sum(axis=-1, keepdims=True)


def true_mix_draws(unaudited: np.ndarray, audited_pairs: np.ndarray, cfg: AuditConfig,
                   rng: np.random.Generator, burn_in: int = 300) -> np.ndarray:
    """Posterior draws of the true mixes of one generator's image sets in one condition, (draws, S, K).

    unaudited: (S, C) the judge's label counts of each set's images nobody labelled; audited_pairs: (S, K, C) the
    audited images of each set by the person's answer (K: the classes and "none") and the judge's label (C).
    The model: each set s has its own true mix pi_s (K); the judge labels an image of true answer t with label j
    with probability M[t, j], the same for every set of the condition (its errors depend on what an image is, not
    on which prompt made it). A Gibbs sampler with the unlabelled images' true answers as latent data: draw them
    given pi and M, then pi_s and each row of M from their Dirichlet posteriors. Priors: `cfg.prior_mass` spread
    evenly over the answers of each pi_s and over the labels of each row of M."""
    n_sets, n_answers, n_labels = audited_pairs.shape
    alpha_pi, alpha_m = cfg.prior_mass / n_answers, cfg.prior_mass / n_labels
    known_true = audited_pairs.sum(axis=2)  # (S, K)
    known_confusion = audited_pairs.sum(axis=0)  # (K, C)
    pi = _dirichlet_rows(rng, np.full((n_sets, n_answers), 1.0) + known_true)
    m = _dirichlet_rows(rng, np.full((n_answers, n_labels), alpha_m) + known_confusion + 4 * np.eye(n_answers,
                                                                                                  n_labels))
    out = np.empty((cfg.draws, n_sets, n_answers))
    counts = unaudited.astype(np.int64)
    for step in range(burn_in + cfg.draws):
        weights = pi[:, None, :] * m.T[None, :, :]  # (S, C, K): P(true answer | set, judge label), unnormalised
        weights /= weights.sum(axis=2, keepdims=True)
        latent = rng.multinomial(counts, weights)  # (S, C, K)
        pi = _dirichlet_rows(rng, alpha_pi + known_true + latent.sum(axis=1))
        m = _dirichlet_rows(rng, alpha_m + known_confusion + latent.sum(axis=0).T)
        if step >= burn_in:
            out[step - burn_in] = pi
    return out


def set_mix_draws(predicted: Sequence[str], classes: Sequence[str], draws: int, prior_mass: float,
                  rng: np.random.Generator) -> np.ndarray:
    """(draws, C) posterior draws of the judge's label mix of the process behind a set of images (the same prior as
    the true mixes', so a comparison of the two tells the judge's error, not the priors)."""
    counts = pd.Series(list(predicted)).value_counts().reindex(list(classes), fill_value=0).to_numpy(float)
    return rng.dirichlet(counts + prior_mass / (len(classes) + 1), size=draws)


@dataclass
class SetDraws:
    """Posterior draws for one image set: its judge-label mix (draws, C) and its true mix (draws, C + 1)."""
    judge: np.ndarray
    corrected: np.ndarray


def corrected_mixes(table: pd.DataFrame, pairs: pd.DataFrame, classes: Sequence[str], cfg: AuditConfig,
                    seed: int) -> dict[tuple[str, str], SetDraws]:
    """Per image set (generator, prompt_id; "" for unguided) whose condition has audited images: posterior draws of
    its judge-label mix and of its true mix over the classes and "none" (`true_mix_draws`). Sets of one generator
    and condition are drawn jointly, so a comparison between them carries the uncertainty of the judge's error
    once."""
    classes = list(classes)
    answers = classes + [NONE_LABEL]
    mixes = {}
    for (generator, condition), frame in table.groupby(["generator", "condition"], sort=True):
        audit = pairs[(pairs.generator == generator) & (pairs.condition == condition)]
        if not len(audit):
            continue
        set_ids = sorted(set(frame.prompt_id))
        unaudited = np.zeros((len(set_ids), len(classes)), np.int64)
        audited_pairs = np.zeros((len(set_ids), len(answers), len(classes)), np.int64)
        labelled = set(audit.image_path)
        for i, prompt_id in enumerate(set_ids):
            images = frame[(frame.prompt_id == prompt_id) & ~frame.image_path.isin(labelled)]
            unaudited[i] = images.predicted.value_counts().reindex(classes, fill_value=0).to_numpy()
            for judge_label, answer in zip(*audit.loc[audit.prompt_id == prompt_id, ["predicted", "label"]].T.values):
                audited_pairs[i, answers.index(answer), classes.index(judge_label)] += 1
        rng = np.random.default_rng(derive_seed(seed, "audit", "truth", generator, condition))
        truth = true_mix_draws(unaudited, audited_pairs, cfg, rng)
        for i, prompt_id in enumerate(set_ids):
            judge_rng = np.random.default_rng(derive_seed(seed, "audit", "mix", generator, prompt_id or "unguided"))
            judged = set_mix_draws(frame.loc[frame.prompt_id == prompt_id, "predicted"], classes, cfg.draws,
                                   cfg.prior_mass, judge_rng)
            mixes[(generator, prompt_id)] = SetDraws(judged, truth[:, i, :])
    return mixes


def _interval(draws: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tail = (1 - confidence) / 2
    low, mid, high = np.quantile(draws, [tail, 0.5, 1 - tail], axis=0)
    return mid, low, high


def corrected_shares(table: pd.DataFrame, pairs: pd.DataFrame, classes: Sequence[str], cfg: AuditConfig,
                     seed: int, mixes: dict[tuple[str, str], SetDraws] | None = None) -> pd.DataFrame:
    """One row per (generator, prompt_id, answer): the judge's share beside the audit-corrected share with its
    interval (posterior median and equal-tailed interval). `mixes`: corrected_mixes' result, if already drawn."""
    answers = list(classes) + [NONE_LABEL]
    rows = []
    if mixes is None:
        mixes = corrected_mixes(table, pairs, classes, cfg, seed)
    for (generator, prompt_id), set_draws in mixes.items():
        images = table[(table.generator == generator) & (table.prompt_id == prompt_id)]
        condition = images.condition.iloc[0]
        n_audited = int(((pairs.generator == generator) & (pairs.condition == condition)).sum())
        judge_share = images.predicted.value_counts(normalize=True)
        mid, low, high = _interval(set_draws.corrected, cfg.confidence)
        for k, answer in enumerate(answers):
            rows.append({"generator": generator, "prompt_id": prompt_id, "condition": condition, "class": answer,
                         "n": len(images), "n_audited": n_audited, "judge_share": float(judge_share.get(answer, 0.0)),
                         "corrected_share": mid[k], "corrected_ci_low": low[k], "corrected_ci_high": high[k]})
    return pd.DataFrame(rows, columns=["generator", "prompt_id", "condition", "class", "n", "n_audited",
                                       "judge_share", "corrected_share", "corrected_ci_low", "corrected_ci_high"])


def _tail_p(difference: np.ndarray) -> float:
    """Two-sided posterior tail probability of a difference: twice the smaller tail, at least 1 / (draws + 1) (so
    `audit.draws` bounds how small a p-value can be: 4000 draws reach 2.5e-4)."""
    tail = min((difference <= 0).sum(), (difference >= 0).sum())
    return min(1.0, max(2 * tail, 1) / (len(difference) + 1))


def corrected_findings(bias: pd.DataFrame, mixes: dict[tuple[str, str], SetDraws], classes: Sequence[str],
                       fdr: float, confidence: float = 0.95) -> pd.DataFrame:
    """Every per-class comparison of `bias` whose two sets have corrected mixes: the study's finding (Fisher's
    q_value, the sign of its log odds ratio) beside the corrected difference of the two sets' true shares, with
    its interval.

    Whether the judge's error changes a finding is read between like and like: the same posterior computed from
    the judge's labels as they are (`judge_q_value`) and from the corrected mixes (`corrected_q_value`); each
    q-value is Benjamini-Hochberg over these rows of a two-sided posterior tail probability. (Fisher's exact test
    is the more conservative of the two, so comparing its q with a posterior's would flag differences of method.)
    `change` says what the correction does to the finding: "lost", "gained" or "reversed" where its significance or
    sign differs and the correction moved the difference credibly (the interval of corrected minus judged
    difference excludes 0; otherwise the audit's own uncertainty alone can tip a row near the level), else "".
    `changed` is `change != ""`."""
    from scipy.stats import false_discovery_control

    rows = []
    for r in bias.to_dict("records"):
        baseline_id = "" if r["baseline"] == "unguided" else r["baseline"].removeprefix("prompt:")
        guided, base = mixes.get((r["generator"], r["prompt_id"])), mixes.get((r["generator"], baseline_id))
        if guided is None or base is None:
            continue
        k = list(classes).index(r["class"])
        judge_difference = guided.judge[:, k] - base.judge[:, k]
        difference = guided.corrected[:, k] - base.corrected[:, k]
        mid, low, high = _interval(difference, confidence)
        _, shift_low, shift_high = _interval(difference - judge_difference, confidence)
        rows.append({**{key: r[key] for key in ("generator", "prompt_id", "prompt", "baseline", "class", "share_guided",
                                                 "share_baseline", "log_odds_ratio", "q_value")},
                     "corrected_share_guided": float(np.median(guided.corrected[:, k])),
                     "corrected_share_baseline": float(np.median(base.corrected[:, k])),
                     "corrected_difference": mid, "corrected_difference_ci_low": low,
                     "corrected_difference_ci_high": high, "judge_p_value": _tail_p(judge_difference),
                     "corrected_p_value": _tail_p(difference),
                     "judge_sign": float(np.sign(np.median(judge_difference))),
                     "credible_shift": bool(shift_low > 0 or shift_high < 0)})
    out = pd.DataFrame(rows)
    if not len(out):
        return pd.DataFrame(columns=list(FINDINGS_COLUMNS))
    out["judge_q_value"] = false_discovery_control(out.judge_p_value.to_numpy(), method="bh")
    out["corrected_q_value"] = false_discovery_control(out.corrected_p_value.to_numpy(), method="bh")
    judged, corrected = out.judge_q_value.to_numpy() < fdr, out.corrected_q_value.to_numpy() < fdr
    flipped = out.judge_sign.to_numpy() != np.sign(out.corrected_difference.to_numpy())
    shifted = out.credible_shift.to_numpy()
    out["finding"] = out.q_value.fillna(1.0).to_numpy() < fdr
    out["corrected_finding"] = corrected
    out["change"] = np.select([shifted & judged & corrected & flipped, shifted & judged & ~corrected,
                               shifted & ~judged & corrected], ["reversed", "lost", "gained"], "")
    out["changed"] = out.change != ""
    return out[list(FINDINGS_COLUMNS)]


FINDINGS_COLUMNS = ("generator", "prompt_id", "prompt", "baseline", "class", "share_guided", "share_baseline",
                    "log_odds_ratio", "q_value", "finding", "judge_q_value", "corrected_share_guided",
                    "corrected_share_baseline", "corrected_difference", "corrected_difference_ci_low",
                    "corrected_difference_ci_high", "corrected_q_value", "corrected_finding", "change", "changed")
