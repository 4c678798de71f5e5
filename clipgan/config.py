"""Build the component dataclasses from the study config (a plain dict, validated upstream).

The YAML is the one source of truth; these builders only pick a component's keys and give
them types, so modules never read the raw dict.
"""

from __future__ import annotations

import copy
from dataclasses import fields
from typing import Any

from clipgan.audit import AuditConfig
from clipgan.bias import BiasConfig
from clipgan.judge import JudgeConfig
from clipgan.clip import ClipSpec, ClipTrainConfig
from clipgan.data.synthetic import CaptionConfig, DomainSpec
from clipgan.search import SearchConfig
from clipgan.seeds import derive_seed


def merge(base: dict, overlay: dict) -> dict:
    """`base` with `overlay`'s keys replaced, recursively, as Snakemake merges `--configfile` files."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def pick(cls, data: dict | None, **overrides: Any):
    """`cls` built from the keys of `data` that are its fields, plus `overrides`."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in (data or {}).items() if k in names}, **overrides)


def domain_spec(dataset: str, settings: dict, synthetic: dict, seed: int, image_size: int) -> DomainSpec:
    """A synthetic domain: `settings` is datasets.<id>, `synthetic` the study's synthetic key."""
    bias = synthetic["planted_bias"]
    captions = CaptionConfig(planted_word=bias["word"], planted_class=bias["class"],
                             planted_probability=bias["probability"],
                             background_probability=bias["background_probability"],
                             class_free_share=synthetic.get("class_free_share", CaptionConfig.class_free_share),
                             adjective_share=synthetic.get("adjective_share", CaptionConfig.adjective_share))
    return DomainSpec(name=dataset, class_mix=settings["class_mix"], n_train=settings["n_train"],
                      n_test=settings["n_test"], seed=derive_seed(seed, "dataset", dataset), image_size=image_size,
                      captions=captions)


def clip_spec(clip: dict, weights: str = "", config_file: str = "", section: str = "clip") -> ClipSpec:
    """The CLIP to load: `weights` (a file this pipeline wrote) or the configured clip.pretrained.

    `config_file`: where the rule declared clip.config_file (the same path, as an input). `section`: where `clip`
    sits in the config (clip, judges.<id>), for the messages."""
    config_file = config_file or clip.get("config_file", "")
    if weights:
        return ClipSpec(model=clip["model"], pretrained=weights, config_file=config_file, section=section)
    return ClipSpec(model=clip["model"], pretrained=clip.get("pretrained", ""), config_file=config_file,
                    sha256=clip.get("sha256", ""), trust_pickle=bool(clip.get("trust_pickle", False)), section=section)


def clip_train_config(clip: dict, seed: int) -> ClipTrainConfig:
    return pick(ClipTrainConfig, clip.get("train"), seed=derive_seed(seed, "clip"))


def judge_clip_train_config(settings: dict, seed: int, judge_id: str) -> ClipTrainConfig:
    """A second judge's CLIP trained here: its own stream, so it shares no training seed with the guiding CLIP."""
    return pick(ClipTrainConfig, settings.get("train"), seed=derive_seed(seed, "judge", judge_id))


def search_settings(search: dict, generator_settings: dict) -> dict:
    """The study's search settings with the generator's own overrides (generators.<id>.search)."""
    return {**search, **generator_settings.get("search", {})}


def search_config(search: dict, seed: int, generator: str, prompt_id: str) -> SearchConfig:
    """`search`: the generator's merged settings (`search_settings`); a seed per (generator, prompt)."""
    return pick(SearchConfig, search, seed=derive_seed(seed, "search", generator, prompt_id))


def generator_seed(seed: int, generator: str, purpose: str) -> int:
    """A generator's stream for `purpose`: "generator" (training), "unguided" or "samples" (the sample grid)."""
    return derive_seed(seed, purpose, generator)


def judge_config(judge: dict, classes: list[str], seed: int, weights: str = "") -> JudgeConfig:
    """`weights`: the start weights the rule declared (the fetched ImageNet state dict, or the
    configured judge.weights file, which keeps its sha256 and trust_pickle), or ""."""
    settings = {k: v for k, v in judge.items() if k not in ("weights", "sha256", "trust_pickle")}
    seed = derive_seed(seed, "judge")
    if weights and weights != judge.get("weights"):
        return pick(JudgeConfig, settings, weights=weights, classes=list(classes), seed=seed)
    return pick(JudgeConfig, settings, weights=judge.get("weights", ""), weights_sha256=judge.get("sha256", ""),
                trust_pickle=bool(judge.get("trust_pickle", False)), classes=list(classes), seed=seed)


def audit_config(audit: dict | None) -> AuditConfig:
    """`audit:` (every key optional)."""
    return pick(AuditConfig, audit)


def bias_config(bias: dict, seed: int) -> BiasConfig:
    """Each comparison derives its own stream from this seed and its ids (`clipgan.bias.bias_table`)."""
    return pick(BiasConfig, bias, seed=seed)
