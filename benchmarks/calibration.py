"""Calibration of the instrument: planted strength in, detected effect and false positives out.

  python benchmarks/calibration.py                  # 6 settings x 3 seeds of the demo (about 70 min on 2 cores)
  python benchmarks/calibration.py --seeds 0        # one seed per setting

Each run is the demo study (demo/config.yaml) with one planted probability and one seed, the
planted prompt and its control only, and by default the nature generator only (the one whose
domain holds the planted class): data, CLIP, DCGAN, judge, search, bias, all through Snakemake.
The settings: the planted probabilities of --strengths, the background probability elsewhere
(0.01 in the demo; "background" = nothing planted, the word as rare in the planted class as
anywhere), and a second null with a common word (--common-null: the word in 10% of the
captions of every class, about as often as each filler adjective).
Per run it reads the comparison that isolates the word, the planted prompt against the control
prompt, and prints:
  - the planted class's counts, log odds ratio with its exact interval, q-value, and whether it
    is the comparison's headline;
  - false findings: another class favoured with q < fdr in that comparison (when nothing is
    planted, any class with q < fdr, either way).
Then one row per setting (detection rate, false-positive rate, mean shares); one row per setting with its
seeds pooled as replicates (clipgan.replicates: random effects per class, the planted class's pooled effect,
tau², prediction interval, the share of seeds that find it, and the classes whose pooled q is below the level);
and a figure. Finished runs are kept under --out and not run again.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's clipgan, installed or not

from clipgan.config import merge  # noqa: E402
from clipgan.report.figures import format_effect as fmt  # noqa: E402


def study_config(base: dict, strength: float, seed: int, generators: list[str], overlay: dict,
                 background: float | None = None) -> dict:
    config = merge(base, overlay)
    config["seed"] = seed
    config["synthetic"]["planted_bias"]["probability"] = strength
    if background is not None:
        config["synthetic"]["planted_bias"]["background_probability"] = background
    control = config["bias"]["control_prompt"]
    planted = next(pid for pid, text in config["prompts"].items()
                   if config["synthetic"]["planted_bias"]["word"] in text.split() and pid != control)
    config["prompts"] = {planted: config["prompts"][planted], control: config["prompts"][control]}
    if generators:
        config["generators"] = {g: config["generators"][g] for g in generators}
    config.pop("judges", None)  # the sweep reads the primary judge only: a second one would only cost its training
    return config


def run_study(folder: Path, config: dict) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    models = folder / "models"
    if not models.exists():
        models.symlink_to(REPO / "demo" / "models")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--rerun-incomplete", "--directory",
                          str(folder), "--snakefile", str(REPO / "Snakefile")], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"the study in {folder} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return time.perf_counter() - t0


def read_run(folder: Path, config: dict, strength: float, seed: int, label: str) -> list[dict]:
    bias = pd.read_parquet(folder / "results" / "bias.parquet")
    planted_class = config["synthetic"]["planted_bias"]["class"]
    control = config["bias"]["control_prompt"]
    nothing_planted = strength == config["synthetic"]["planted_bias"]["background_probability"]
    fdr = config["bias"].get("fdr", 0.05)
    rows = []
    for generator, frame in bias[bias.baseline == f"prompt:{control}"].groupby("generator"):
        frame = frame.set_index("class")
        planted = frame.loc[planted_class]
        # with a planted word, other classes must make room: only another class *favoured* is a false finding
        favoured_other = (frame.index != planted_class) & (frame.log_odds_ratio > 0)
        false = frame[(frame.q_value < fdr) & (favoured_other | nothing_planted)]
        rows.append({
            "setting": label, "strength": strength, "nothing_planted": nothing_planted, "seed": seed,
            "generator": generator, "planted_guided": int(planted.count_guided),
            "planted_control": int(planted.count_baseline), "n": int(planted.n_guided),
            "log_odds_ratio": planted.log_odds_ratio, "ci_low": planted.log_odds_ratio_ci_low,
            "ci_high": planted.log_odds_ratio_ci_high, "q_value": planted.q_value,
            "detected": bool(planted.headline) and not nothing_planted, "false_findings": len(false),
            "false_classes": ",".join(false.index),
        })
    return rows


def print_pooled(folders: dict[str, list]) -> None:
    """The seeds of a setting as replicates (each retrains every model from its own seed): the planted prompt
    against the control, pooled per class by clipgan.replicates (random effects), and the classes whose pooled
    q-value is below the level: the false findings that survive pooling."""
    from clipgan.replicates import pool_replicates

    print("\n| planted probability | generator | replicates | planted class: pooled log odds ratio [95% CI] | tau² | "
          "prediction interval | replicated in | q | pooled false findings |")
    print("|---:|---|---:|---|---:|---|---:|---:|---|")
    for label, members in folders.items():
        frames, config = [], members[0][2]
        control = config["bias"]["control_prompt"]
        for seed, folder, _, _ in members:
            bias = pd.read_parquet(folder / "results" / "bias.parquet")
            frames.append(bias[bias.baseline == f"prompt:{control}"].assign(replicate=seed))
        fdr = config["bias"].get("fdr", 0.05)
        pooled = pool_replicates(pd.concat(frames, ignore_index=True), fdr=fdr)
        planted_class = config["synthetic"]["planted_bias"]["class"]
        nothing_planted = members[0][3] == config["synthetic"]["planted_bias"]["background_probability"]
        for generator, frame in pooled.groupby("generator"):
            frame = frame.set_index("class")
            p = frame.loc[planted_class]
            if p.replicates < 2:
                print(f"| {label} | {generator} | {int(p.replicates)} | fewer than 2 replicates: nothing pooled "
                      "| | | | | |")
                continue
            other = (frame.index != planted_class) & (frame.pooled_effect > 0)
            false = frame[(frame.q_value < fdr) & (other | nothing_planted)]
            print(f"| {label} | {generator} | {int(p.replicates)} | {fmt(p.pooled_effect)} [{fmt(p.pooled_ci_low)}, "
                  f"{fmt(p.pooled_ci_high)}] | {p.tau2:.2f} | [{fmt(p.prediction_low)}, {fmt(p.prediction_high)}] | "
                  f"{p.replicated_share:.0%} | {p.q_value:.2g} | {', '.join(false.index) or '—'} |")


def figure(summary: pd.DataFrame, runs: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(8.4, 3.0))
    x = {s: i for i, s in enumerate(summary.setting)}
    labels = [s.replace(" (nothing planted)", "\nnull").replace(" everywhere", "\neverywhere") for s in summary.setting]
    jitter = np.linspace(-0.12, 0.12, max(runs.seed.nunique(), 1))
    for j, (_, frame) in enumerate(runs.groupby("seed")):
        xs = frame.setting.map(x) + jitter[j]
        left.scatter(xs - 0.05, frame.planted_guided / frame.n, color="#6d6875", s=14,
                     label="planted prompt" if j == 0 else None)
        left.scatter(xs + 0.05, frame.planted_control / frame.n, color="#bbbbbb", s=14, marker="s",
                     label="control prompt" if j == 0 else None)
    left.set_xticks(range(len(labels)), labels, fontsize=7)
    left.set_xlabel("P(word | planted class); elsewhere the background", fontsize=7)
    left.set_ylabel("share of the planted class", fontsize=7)
    left.set_ylim(-0.03, 1.03)
    left.legend(fontsize=7, frameon=False)
    left.tick_params(labelsize=7)
    left.set_title("detected effect: guided images of each prompt", fontsize=8)
    right.plot(range(len(labels)), summary.detection_rate, "o-", color="#b00020", label="planted class is the headline")
    right.plot(range(len(labels)), summary.false_positive_rate, "s--", color="#1f5fa8",
               label="runs with a false finding")
    right.set_xticks(range(len(labels)), labels, fontsize=7)
    right.set_ylim(-0.03, 1.03)
    right.set_xlabel("planted probability", fontsize=7)
    right.set_ylabel(f"share of runs (n = {runs.seed.nunique()} seeds)", fontsize=7)
    right.legend(fontsize=7, frameon=False)
    right.tick_params(labelsize=7)
    right.set_title("planted prompt vs control, q < 0.05", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "demo" / "config.yaml")
    parser.add_argument("--strengths", default="background,0.1,0.2,0.4,0.8",
                        help="planted probabilities; 'background' = the background probability (nothing planted)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--common-null", type=float, default=0.1,
                        help="also run a null whose word is this common in every class (0: do not)")
    parser.add_argument("--generators", default="dcgan_nature", help="comma-separated; empty = all of the config's")
    parser.add_argument("--overlay", type=Path, help="a YAML file merged over the config (e.g. smaller settings)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "calibration")
    parser.add_argument("--figure", type=Path, help="where the figure goes (default: OUT/calibration.png)")
    args = parser.parse_args()

    base = yaml.safe_load(args.config.read_text())
    overlay = yaml.safe_load(args.overlay.read_text()) if args.overlay else {}
    background = merge(base, overlay)["synthetic"]["planted_bias"]["background_probability"]
    strengths = [background if s == "background" else float(s) for s in args.strengths.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    generators = [g for g in args.generators.split(",") if g]

    settings = [(f"{s:g}" + (" (nothing planted)" if s == background else ""), s, None) for s in strengths]
    if args.common_null:
        settings.insert(1, (f"{args.common_null:g} everywhere (nothing planted)", args.common_null, args.common_null))
    runs, folders = [], {}
    for label, strength, background_override in settings:
        for seed in seeds:
            config = study_config(base, strength, seed, generators, overlay, background_override)
            name = f"p{strength:g}" + (f"_b{background_override:g}" if background_override is not None else "")
            folder = args.out / f"{name}_seed{seed}"
            done = folder / "results" / "bias.parquet"
            if done.exists() and yaml.safe_load((folder / "config.yaml").read_text()) == config:
                print(f"[kept] {label}, seed {seed}: {folder}", flush=True)
            else:
                print(f"[run] {label}, seed {seed} ...", end=" ", flush=True)
                print(f"{run_study(folder, config):.0f} s", flush=True)
            runs += read_run(folder, config, strength, seed, label)
            folders.setdefault(label, []).append((seed, folder, config, strength))
    runs = pd.DataFrame(runs)

    print("\n| planted probability | seed | generator | planted class, planted prompt vs control | log odds ratio "
          "[95% CI] | q | headline | false findings |")
    print("|---:|---:|---|---|---|---:|---|---|")
    for r in runs.to_dict("records"):
        print(f"| {r['setting']} | {r['seed']} | {r['generator']} | {r['planted_guided']}/{r['n']} vs "
              f"{r['planted_control']}/{r['n']} | {fmt(r['log_odds_ratio'])} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]"
              f" | {r['q_value']:.2g} | {'yes' if r['detected'] else 'no'} | {r['false_classes'] or '—'} |")

    summary = runs.groupby("setting", sort=False).agg(
        runs=("seed", "size"), planted_share=("planted_guided", "sum"), control_share=("planted_control", "sum"),
        images=("n", "sum"), detection_rate=("detected", "mean"),
        false_positive_rate=("false_findings", lambda f: float(np.mean(f > 0))),
        nothing_planted=("nothing_planted", "first")).reset_index()
    summary["planted_share"] /= summary.images
    summary["control_share"] /= summary.images
    print("\n| planted probability | runs | planted class share: planted prompt | control prompt | "
          "detected (headline, q < 0.05) | runs with a false finding |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in summary.to_dict("records"):
        print(f"| {r['setting']} | {r['runs']} | {r['planted_share']:.2f} | {r['control_share']:.2f} | "
              f"{r['detection_rate']:.2f} | {r['false_positive_rate']:.2f} |")
    print_pooled(folders)
    path = args.figure or args.out / "calibration.png"
    figure(summary, runs, path)
    runs.to_csv(args.out / "calibration_runs.csv", index=False)
    null = summary[summary.nothing_planted]
    print(f"\nfigure: {path}")
    null_rate = float(null.false_positive_rate.mean()) if len(null) else float("nan")
    planted = runs[~runs.nothing_planted]
    strongest = float(planted[planted.strength == planted.strength.max()].detected.mean()) if len(planted) \
        else float("nan")
    print(f"false_positive_rate_nothing_planted={null_rate:.2f} detection_rate_strongest={strongest:.2f}")


if __name__ == "__main__":
    main()
