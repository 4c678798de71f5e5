"""Build the component dataclasses from the study config (a plain dict, validated upstream).

The YAML is the one source of truth; these builders only pick a component's keys and give
them types, so modules never read the raw dict.
"""

from __future__ import annotations

import copy
from dataclasses import fields
from typing import Any

from clipgan.bias import BiasConfig
from clipgan.classifier import JudgeConfig
from clipgan.clip import ClipSpec, ClipTrainConfig
from clipgan.data.synthetic import CaptionConfig, DomainSpec
from clipgan.generators.dcgan import DCGANConfig, GANTrainConfig
from clipgan.search import SearchConfig
from clipgan.seeds import derive_seed


def merge(base: dict, overlay: dict) -> dict:
    """`base` with `overlay`'s keys replaced, recursively, as Snakemake merges `--configfile` files."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _pick(cls, data: dict | None, **overrides: Any):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in (data or {}).items() if k in names}, **overrides)


def domain_spec(config: dict, dataset: str) -> DomainSpec:
    ds = config["datasets"][dataset]
    bias = config["synthetic"]["planted_bias"]
    captions = CaptionConfig(planted_word=bias["word"], planted_class=bias["class"],
                             planted_probability=bias["probability"],
                             background_probability=bias["background_probability"],
                             class_free_share=config["synthetic"].get("class_free_share", 0.2),
                             adjective_share=config["synthetic"].get("adjective_share", CaptionConfig.adjective_share))
    seed = derive_seed(config["seed"], "dataset", dataset)
    return DomainSpec(name=dataset, class_mix=ds["class_mix"], n_train=ds["n_train"], n_test=ds["n_test"],
                      seed=seed, image_size=config["image_size"], captions=captions)


def clip_spec(config: dict, weights: str = "") -> ClipSpec:
    """The CLIP to load: `weights` (a file this pipeline wrote) or the configured clip.pretrained."""
    clip = config["clip"]
    if weights:
        return ClipSpec(model=clip["model"], pretrained=weights, config_file=clip.get("config_file", ""))
    return ClipSpec(model=clip["model"], pretrained=clip.get("pretrained", ""), config_file=clip.get("config_file", ""),
                    sha256=clip.get("sha256", ""), trust_pickle=bool(clip.get("trust_pickle", False)))


def clip_train_config(config: dict) -> ClipTrainConfig:
    return _pick(ClipTrainConfig, config["clip"].get("train"), seed=derive_seed(config["seed"], "clip"))


def dcgan_configs(config: dict, generator: str) -> tuple[DCGANConfig, GANTrainConfig]:
    gen = config["generators"][generator]
    model = _pick(DCGANConfig, gen.get("model"), image_size=config["image_size"])
    seed = derive_seed(config["seed"], "generator", generator)
    return model, _pick(GANTrainConfig, gen.get("train"), seed=seed)


def search_config(config: dict, generator: str, prompt_id: str) -> SearchConfig:
    """The study's search settings, with per-generator overrides; a seed per (generator, prompt)."""
    settings = {**config["search"], **config["generators"][generator].get("search", {})}
    seed = derive_seed(config["seed"], "search", generator, prompt_id)
    return _pick(SearchConfig, settings, seed=seed)


def unguided_seed(config: dict, generator: str, purpose: str = "unguided") -> int:
    """The seed of a generator's unguided draw (`purpose` "samples": the sample grid of its training stage)."""
    return derive_seed(config["seed"], purpose, generator)


def judge_config(config: dict, weights: str = "") -> JudgeConfig:
    """`weights`: the fetched ImageNet state dict, if any; else the configured judge.weights file."""
    judge = {k: v for k, v in config["judge"].items() if k not in ("weights", "sha256", "trust_pickle")}
    seed = derive_seed(config["seed"], "judge")
    if weights:
        return _pick(JudgeConfig, judge, weights=weights, classes=list(config["classes"]), seed=seed)
    return _pick(JudgeConfig, judge, weights=config["judge"].get("weights", ""),
                 weights_sha256=config["judge"].get("sha256", ""),
                 trust_pickle=bool(config["judge"].get("trust_pickle", False)),
                 classes=list(config["classes"]), seed=seed)


def bias_config(config: dict) -> BiasConfig:
    """Each comparison derives its own stream from this seed and its ids (`clipgan.bias.bias_table`)."""
    return _pick(BiasConfig, config.get("report", {}), seed=config["seed"])
