"""Config validation: the JSON schema first, then the cross-references a schema cannot express.

Every problem becomes one line that names the key path and what is expected, and all of
them are reported together before any job runs.
"""

from __future__ import annotations

from pathlib import Path

import yaml


class ConfigError(ValueError):
    pass


def _path(parts) -> str:
    return ".".join(str(p) for p in parts) or "(top level)"


def schema_errors(config: dict, schema: dict) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    out = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        # an if/then branch fails as a whole: report its innermost causes, which name the key
        leaves = list(error.context) or [error]
        for leaf in leaves if error.validator in ("allOf", "anyOf", "oneOf") else [error]:
            message = leaf.message
            if leaf.validator == "pattern" and "path segment" in str(leaf.schema.get("description", "")):
                message += " (ids are letters, digits, _ and -)"
            out.append(f"{_path(error.absolute_path) if leaf is error else _path(leaf.absolute_path)}: {message}")
    return list(dict.fromkeys(out))


def reference_errors(config: dict) -> list[str]:
    """Cross-references: datasets, classes and prompts that a key names must exist."""
    out = []
    classes = set(config.get("classes", []))
    datasets = config.get("datasets", {})
    for name, ds in datasets.items():
        for cls in (ds.get("class_mix") or {}):
            if cls not in classes:
                out.append(f"datasets.{name}.class_mix.{cls}: not one of the study's classes {sorted(classes)}")
        if ds.get("class_mix") is not None and sum(ds["class_mix"].values()) <= 0:
            out.append(f"datasets.{name}.class_mix: shares must sum to more than 0")
    if any(ds.get("source") == "synthetic" for ds in datasets.values()):
        if "synthetic" not in config:
            out.append("synthetic: required when a dataset has source 'synthetic' (the planted bias)")
        else:
            planted_bias = config["synthetic"].get("planted_bias", {})
            planted = planted_bias.get("class")
            if planted is not None and planted not in classes:
                out.append(f"synthetic.planted_bias.class: {planted!r} is not one of the study's classes "
                           f"{sorted(classes)}")
            from clipgan.data.synthetic import CaptionConfig

            adjectives = config["synthetic"].get("adjective_share", CaptionConfig.adjective_share)
            for key in ("probability", "background_probability"):
                if planted_bias.get(key, 0) > adjectives:
                    out.append(f"synthetic.planted_bias.{key}: {planted_bias[key]} exceeds synthetic.adjective_share "
                               f"{adjectives}{'' if 'adjective_share' in config['synthetic'] else ' (the default)'}; "
                               "the planted word takes its share from the captions' adjectives")
    for name, gen in config.get("generators", {}).items():
        if gen.get("dataset") is not None and gen["dataset"] not in datasets:
            out.append(f"generators.{name}.dataset: {gen['dataset']!r} is not a defined dataset {sorted(datasets)}")
        kind = _kind(gen.get("kind"))
        if kind is None:
            continue
        if kind.trained and gen.get("dataset") is None:
            out.append(f"generators.{name}.dataset: required for kind {kind.name!r}, which is trained in the pipeline "
                       "on that dataset")
        if gen.get("realism") is not None and not kind.chooses_realism:
            choosers = [k for k in _kinds() if _kind(k).chooses_realism]
            out.append(f"generators.{name}.realism: only {', '.join(choosers)} generators choose their realism "
                       "signal (a dcgan uses its discriminator, a biggan its latent prior)")
        from clipgan.config import search_settings
        from clipgan.search import SearchConfig

        search = search_settings(config.get("search", {}), gen)
        if search.get("pool_size"):

            restarts = search.get("restarts", SearchConfig.restarts)
            pop_size = search.get("pop_size", SearchConfig.pop_size)
            if search["pool_size"] < restarts * pop_size:
                where = f"generators.{name}.search" if "pool_size" in gen.get("search", {}) else "search"
                out.append(f"{where}.pool_size: {search['pool_size']} is fewer than restarts x "
                           f"pop_size = {restarts} x {pop_size} for {name}: each restart starts from its own slice of "
                           f"the pool; set at least {restarts * pop_size}, or 0 for no pool")
    for i, name in enumerate(config.get("judge", {}).get("datasets", [])):
        if name not in datasets:
            out.append(f"judge.datasets.{i}: {name!r} is not a defined dataset {sorted(datasets)}")
        elif datasets[name].get("labelled", True) is False:
            out.append(f"judge.datasets.{i}: {name!r} is unlabelled (datasets.{name}.labelled: false); the judge "
                       "needs labelled scenes")
    control = config.get("bias", {}).get("control_prompt", "")
    if control and control not in config.get("prompts", {}):
        out.append(f"bias.control_prompt: {control!r} is not a prompt id {sorted(config.get('prompts', {}))}")
    clip = config.get("clip", {})
    if clip.get("train") is not None and not any(ds.get("source") == "synthetic" for ds in datasets.values()):
        out.append("clip.train: training CLIP needs captioned (synthetic) datasets; use clip.pretrained instead")
    if clip and clip.get("train") is None and not clip.get("pretrained"):
        out.append("clip.pretrained: required unless clip.train is given (an open_clip tag or a checkpoint file)")
    for judge_id, other in config.get("judges", {}).items():
        key = f"judges.{judge_id}"
        if other.get("train") is not None and other.get("pretrained"):
            out.append(f"{key}: give either {key}.train (trained here) or {key}.pretrained, not both")
        elif other.get("train") is not None and not any(ds.get("source") == "synthetic" for ds in datasets.values()):
            out.append(f"{key}.train: training a CLIP needs captioned (synthetic) datasets; use {key}.pretrained")
        elif other.get("train") is None and not other.get("pretrained"):
            out.append(f"{key}.pretrained: required unless {key}.train is given (an open_clip tag or a file)")
        if judge_id == config.get("judge", {}).get("arch"):
            out.append(f"{key}: the primary judge's name ({judge_id}); choose another id")

        def same(model):  # open_clip's -quickgelu variants carry the same weights
            return str(model).removesuffix("-quickgelu")
        if other.get("pretrained") and (same(other.get("model")), other.get("pretrained")) == \
                (same(clip.get("model")), clip.get("pretrained")):
            out.append(f"{key}: the same CLIP as clip ({clip.get('model')}, {clip.get('pretrained')}); a second "
                       "judge must not share the guiding CLIP's weights, or it shares its blind spots")
    classes = list(config.get("classes", []))
    columns = [f"prob_{c}" for c in classes] + ["predicted"]
    for judge_id in config.get("judges", {}):
        columns += [f"prob_{judge_id}_{c}" for c in classes] + [f"predicted_{judge_id}"]
    clashes = sorted({c for c in columns if columns.count(c) > 1})
    if clashes:
        out.append(f"judges: the table would have two columns named {', '.join(clashes)} (a judge id and a class "
                   "name run together); rename the judge")
    for name, settings in config.get("generators", {}).items():
        if "prompt_free" in (settings.get("search") or {}):
            out.append(f"generators.{name}.search.prompt_free: study-wide only; set search.prompt_free")
    if config.get("replicates", 1) > 1 and config.get("audit", {}).get("labels"):
        out.append("audit.labels: not with replicates > 1 (each replicate has its own images and audit page); audit "
                   "one run with replicates: 1, which is replicate r1 (the same seed)")
    judge = config.get("judge", {})
    if judge.get("imagenet_weights") and judge.get("weights"):
        out.append("judge.weights: give either judge.weights (a local file) or judge.imagenet_weights: true, not both")
    for key, section in [("clip", clip), ("judge", judge)] + [(f"generators.{n}", g) for n, g in
                                                             config.get("generators", {}).items()] + \
            [(f"judges.{n}", j) for n, j in config.get("judges", {}).items()]:
        if section.get("trust_pickle") and not section.get("sha256"):
            out.append(f"{key}.trust_pickle: needs {key}.sha256 too; pickle can run code, so only a file whose "
                       "checksum you give may be unpickled")
    return out


def _kinds() -> list[str]:
    from clipgan.generators import kinds

    return kinds()


def _kind(name):
    from clipgan.generators import generator_kind

    return generator_kind(name) if name in _kinds() else None


def with_registered_kinds(schema: dict) -> dict:
    """The schema with generators.<id>.kind limited to the registry's kinds (one registration per kind)."""
    kind = schema["properties"]["generators"]["additionalProperties"]["properties"]["kind"]
    kind["enum"] = _kinds()
    return schema


MOVED_TO_BIAS = ("control_prompt", "n_permutations", "confidence", "fdr", "power")

# keys a study config may still carry from an older clipgan: what to do instead
_RETIRED = {
    "n_bootstrap": "no longer used: share intervals are exact (Clopper-Pearson), not bootstrapped; delete the key",
    "smoothing": "no longer used: the effect is the exact conditional odds ratio, defined at zero counts without "
                 "pseudo-counts; delete the key",
}
RETIRED_KEYS = {
    **{("report", key): f"moved: the statistics settings are under their own key now; rename report.{key} to "
                        f"bias.{key}" for key in MOVED_TO_BIAS},
    **{(section, key): why for section in ("report", "bias") for key, why in _RETIRED.items()},
}


def retired_key_errors(config: dict) -> list[str]:
    out = [f"{section}.{key}: {why}" for (section, key), why in RETIRED_KEYS.items()
           if isinstance(config.get(section), dict) and key in config[section]]
    if "report" in config:
        if "bias" not in config:
            out.append("bias: required; the report: section of older configs is now bias: (same keys)")
        elif not out:
            out.append("report: no longer a section; the statistics settings are under bias:")
    return out


def validate_config(config: dict, schema_file: str | Path) -> None:
    """Raise ConfigError listing every problem of `config`; return quietly when it is valid."""
    schema = with_registered_kinds(yaml.safe_load(Path(schema_file).read_text()))
    errors = retired_key_errors(config)
    retired_sections = {section for section, _ in RETIRED_KEYS}
    errors += [e for e in schema_errors(config, schema)
               if not any(e.startswith(f"{section}: ") and f"'{key}' was unexpected" in e
                          for section, key in RETIRED_KEYS)
               and not (e.startswith("(top level): ") and any(f"'{s}' was unexpected" in e
                                                                for s in retired_sections))
               and not ("report" in config and "'bias' is a required property" in e)]
    if not errors:
        errors = reference_errors(config)
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(errors))
