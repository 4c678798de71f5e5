"""Did a change of method move the findings? Two finished studies' guided class mixes, side by side.

  python benchmarks/compare_studies.py --before <study A> --after <study B>

For every (generator, prompt) both studies share, the guided images' class counts before and
after, each with its exact 95% interval, and the headline class of each study against the
unguided baseline, the control prompt and the prompt-free search ("—" where a study has no such
comparison: the control prompt against itself). Whether a class moved: a two-sided Fisher
exact test of its count before against after, Benjamini-Hochberg over every (generator, prompt,
class). The last line reads
  moved=<classes with q < 0.05>/<classes> outside_interval=<after shares outside the before interval>
  headlines_kept=<comparisons whose headline class is the same>/<comparisons>
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's clipgan, installed or not
from clipgan.table import PROMPT_FREE  # noqa: E402


def headlines(bias: pd.DataFrame) -> dict:
    """(generator, prompt_id, baseline) -> the headline class, or "none"."""
    out = {}
    for key, rows in bias.groupby(["generator", "prompt_id", "baseline"]):
        flagged = rows[rows.headline.astype(bool)]
        out[key] = flagged["class"].iloc[0] if len(flagged) else "none"
    return out


def main() -> None:
    from scipy import stats

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="a finished study folder")
    parser.add_argument("--after", type=Path, required=True, help="a finished study folder")
    args = parser.parse_args()
    before, after = (pd.read_parquet(study / "results" / "bias.parquet") for study in (args.before, args.after))
    keys = ["generator", "prompt_id", "class"]
    mix = (before[before.baseline == "unguided"].merge(after[after.baseline == "unguided"], on=keys,
                                                        suffixes=("_before", "_after")))
    if mix.empty:
        raise SystemExit("the two studies share no (generator, prompt)")
    p_values = [stats.fisher_exact([[r.count_guided_before, r.n_guided_before - r.count_guided_before],
                                    [r.count_guided_after, r.n_guided_after - r.count_guided_after]]).pvalue
                for r in mix.itertuples()]
    mix["q"] = stats.false_discovery_control(p_values)
    mix["inside"] = ((mix.share_guided_after >= mix.share_guided_ci_low_before - 1e-12)
                     & (mix.share_guided_after <= mix.share_guided_ci_high_before + 1e-12))
    was, now = headlines(before), headlines(after)
    shared = sorted(set(was) & set(now))

    print("| generator | prompt | headline vs unguided (before → after) | vs control | vs prompt-free | class counts "
          "before → after (guided; * outside the before interval) |")
    print("|---|---|---|---|---|---|")
    for (generator, prompt), rows in mix.groupby(["generator", "prompt_id"]):
        cells = ", ".join(f"{r['class']} {r.count_guided_before}→{r.count_guided_after}{'' if r.inside else '*'}"
                          for _, r in rows.iterrows() if r.count_guided_before or r.count_guided_after)
        ours = [k for k in shared if k[:2] == (generator, prompt)]
        unguided = [k for k in ours if k[2] == "unguided"]
        prompt_free = [k for k in ours if k[2] == f"prompt:{PROMPT_FREE}"]
        control = [k for k in ours if k not in unguided + prompt_free]
        columns = [", ".join(f"{was[k]} → {now[k]}" for k in keys) or "—" for keys in (unguided, control, prompt_free)]
        print(f"| {generator} | {prompt} | {' | '.join(columns)} | {cells} |")
    n_images = f"{int(mix.n_guided_before.iloc[0])} → {int(mix.n_guided_after.iloc[0])} guided images per prompt"
    print(f"\n{n_images}; Fisher exact per class, Benjamini-Hochberg over {len(mix)} classes; smallest q "
          f"{mix.q.min():.3g}")
    kept = sum(was[k] == now[k] for k in shared)
    print(f"moved={int((mix.q < 0.05).sum())}/{len(mix)} outside_interval={int((~mix.inside).sum())} "
          f"headlines_kept={kept}/{len(shared)}")


if __name__ == "__main__":
    main()
