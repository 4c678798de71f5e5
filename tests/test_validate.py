import copy

import pytest
import yaml

from clipgan.validate import ConfigError, validate_config


@pytest.fixture
def demo(repo):
    return yaml.safe_load((repo / "demo" / "config.yaml").read_text())


@pytest.fixture
def schema(repo):
    return repo / "schemas" / "config.schema.yaml"


def test_shipped_configs_are_valid(repo, schema, demo):
    validate_config(demo, schema)
    validate_config(yaml.safe_load((repo / "config.yaml").read_text()), schema)


def _set(config, path, value):
    *head, last = path
    node = config
    for key in head:
        node = node.setdefault(key, {})  # a missing section (an old one, report:) is created
    if value is KeyError:
        del node[last]
    else:
        node[last] = value


BAD = [
    (("seed",), "zero", "seed: 'zero' is not of type 'integer'"),
    (("surprise",), 1, "'surprise' was unexpected"),
    (("judge", "arch"), KeyError, "judge: 'arch' is a required property"),
    (("generators", "dcgan_city", "kind"), "vae", "generators.dcgan_city.kind: 'vae' is not one of"),
    (("prompts", "../etc"), "a prompt", "ids are letters, digits"),
    (("prompts", "unguided"), "a prompt", "prompts"),
    (("prompts", "beautiful"), "", "prompts.beautiful"),
    (("search", "restarts"), 0, "search.restarts: 0 is less than the minimum of 1"),
    (("search", "pop_size"), -3, "search.pop_size"),
    (("unguided", "n"), 0, "unguided.n"),
    (("search", "select"), "middle", "search.select: 'middle' is not one of"),
    (("search", "engine"), "fast", "search.engine: 'fast' is not one of"),
    (("generators", "dcgan_city", "dataset"), "mars", "generators.dcgan_city.dataset: 'mars' is not a defined dataset"),
    (("judge", "datasets"), ["nature", "moon"], "judge.datasets.1: 'moon' is not a defined dataset"),
    (("bias", "control_prompt"), "nope", "bias.control_prompt: 'nope' is not a prompt id"),
    (("synthetic", "planted_bias", "class"), "desert", "synthetic.planted_bias.class: 'desert' is not one of"),
    (("synthetic", "planted_bias", "probability"), 1.5, "synthetic.planted_bias.probability"),
    (("datasets", "nature", "class_mix", "volcano"), 0.1, "datasets.nature.class_mix.volcano"),
    (("device",), "tpu", "device: 'tpu' does not match"),
    (("image_size",), 48, "image_size: 48 is not one of"),
    (("generators", "dcgan_city", "train", "epochs"), 2.5, "generators.dcgan_city.train.epochs"),
    (("datasets", "nature", "n_train"), -1, "datasets.nature"),
    (("clip", "train"), KeyError, None),  # valid schema-wise, but then clip.pretrained is required
    (("clip", "trust_pickle"), True, "clip.trust_pickle: needs clip.sha256 too"),
    (("judge", "sha256"), "abc", "judge.sha256: 'abc' does not match"),
    (("generators", "dcgan_city", "trust_pickle"), True, "generators.dcgan_city.trust_pickle: needs"),
    (("datasets", "nature", "source"), "ftp", "datasets.nature.source: 'ftp' is not one of"),
    (("generators", "dcgan_city", "realism"), "discriminator", "generators.dcgan_city.realism: only stylegan2"),
    (("generators", "dcgan_city", "realism"), "critic", "generators.dcgan_city.realism: 'critic' is not one of"),
    (("report", "n_bootstrap"), 2000, "report.n_bootstrap: no longer used: share intervals are exact"),
    (("report", "smoothing"), 0.5, "report.smoothing: no longer used"),
    (("search", "smoothing"), 0.5, "'smoothing' was unexpected"),  # retired only under report
    (("report", "fdr"), 0.1, "report.fdr: moved: the statistics settings are under their own key now; rename "
                              "report.fdr to bias.fdr"),
    (("generators", "dcgan_city", "kind"), "vqgan",
     "generators.dcgan_city.kind: 'vqgan' is not one of ['biggan', 'dcgan', 'renderer', 'stylegan2']"),
    (("bias", "fdr"), 1.5, "bias.fdr: 1.5 is greater than or equal to the maximum of 1"),
    (("synthetic", "adjective_share"), 0.5, "synthetic.planted_bias.probability: 0.8 exceeds synthetic.adjective"),
    (("search", "pool_size"), 100, "search.pool_size: 100 is fewer than restarts x pop_size = 24 x 8 for dcgan_city: "
                                   "each restart starts from its own slice of the pool; set at least 192"),
    (("generators", "dcgan_city", "search"), {"pool_size": 10, "restarts": 2},
     "generators.dcgan_city.search.pool_size: 10 is fewer than restarts x pop_size = 2 x 8"),
    (("search", "patience"), -1, "search.patience: -1 is less than the minimum of 0"),
    (("replicates",), 0, "replicates: 0 is less than the minimum of 1"),
    (("prompts", "prompt_free"), "a prompt", "prompts"),
    (("generators", "dcgan_city", "search"), {"prompt_free": False}, "generators.dcgan_city.search.prompt_free: "
                                                                     "study-wide only"),
    (("judges", "Bad-Id"), {"kind": "clip", "model": "clipgan-tiny", "train": {}}, "judges: 'Bad-Id' does not match"),
    (("judges", "second"), {"kind": "clip", "model": "clipgan-tiny"},
     "judges.second.pretrained: required unless judges.second.train is given"),
    (("judges", "second"), {"kind": "clip", "model": "clipgan-tiny", "pretrained": "x.pt", "train": {}},
     "judges.second: give either judges.second.train (trained here) or judges.second.pretrained, not both"),
    (("judges", "second"), {"kind": "clip", "model": "clipgan-tiny", "train": {}, "templates": ["a photo"]},
     "judges.second.templates.0: 'a photo' does not match"),
    (("judges", "second"), {"kind": "resnet", "model": "x", "train": {}}, "judges.second.kind: 'resnet' is not one of"),
]


@pytest.mark.parametrize("path,value,message", BAD, ids=[".".join(b[0]) for b in BAD])
def test_bad_config_fails_with_the_key_path(demo, schema, path, value, message):
    config = copy.deepcopy(demo)
    _set(config, path, value)
    with pytest.raises(ConfigError) as err:
        validate_config(config, schema)
    assert message is None and "clip.pretrained" in str(err.value) or message in str(err.value)


def test_judge_weights_and_imagenet_weights_exclude_each_other(demo, schema):
    config = copy.deepcopy(demo)
    config["judge"].update(imagenet_weights=True, weights="judge.pt")
    with pytest.raises(ConfigError, match="judge.weights: give either"):
        validate_config(config, schema)


def test_all_problems_are_reported_at_once(demo, schema):
    config = copy.deepcopy(demo)
    config["seed"] = "x"
    config["search"]["restarts"] = 0
    with pytest.raises(ConfigError) as err:
        validate_config(config, schema)
    assert "seed" in str(err.value) and "search.restarts" in str(err.value)


def test_an_old_report_section_names_its_new_key(demo, schema):
    config = copy.deepcopy(demo)
    config["report"] = config.pop("bias")
    with pytest.raises(ConfigError) as err:
        validate_config(config, schema)
    message = str(err.value)
    assert "report.n_permutations: moved" in message and "rename report.n_permutations to bias." in message
    assert "bias: required; the report: section of older configs is now bias:" in message


def test_the_schema_allows_exactly_the_registered_generator_kinds(schema):
    import yaml

    from clipgan.generators import generator_kind, kinds
    from clipgan.validate import with_registered_kinds

    loaded = with_registered_kinds(yaml.safe_load(open(schema).read()))
    assert loaded["properties"]["generators"]["additionalProperties"]["properties"]["kind"]["enum"] == kinds()
    assert set(kinds()) >= {"dcgan", "biggan", "stylegan2"}
    for kind in kinds():  # each is trained here or fetched, never both, and says what a missing asset should be
        entry = generator_kind(kind)
        assert (entry.train is None) != (entry.fetch is None), kind
        assert entry.trained or entry.how_to != "the file", kind


def test_a_trained_kind_needs_its_dataset(demo, schema):
    config = copy.deepcopy(demo)
    del config["generators"]["dcgan_city"]["dataset"]
    with pytest.raises(ConfigError, match="generators.dcgan_city.dataset: required for kind 'dcgan'"):
        validate_config(config, schema)


@pytest.mark.parametrize("guide,judge", [("ViT-B-32", "ViT-B-32"), ("ViT-B-16", "ViT-B-16-quickgelu")],
                         ids=["same", "quickgelu-variant"])
def test_a_second_judge_must_not_be_the_guiding_clip(demo, schema, guide, judge):
    config = copy.deepcopy(demo)
    config["clip"] = {"model": guide, "pretrained": "openai"}
    config["judges"] = {"second": {"kind": "clip", "model": judge, "pretrained": "openai"}}
    with pytest.raises(ConfigError, match=rf"judges.second: the same CLIP as clip \({guide}, openai\)"):
        validate_config(config, schema)
    config["judges"]["second"]["pretrained"] = "laion2b_s34b_b79k"  # another training set: allowed
    validate_config(config, schema)


def test_second_judge_ids_cannot_clash_with_columns_or_the_primary(demo, schema):
    config = copy.deepcopy(demo)
    judge = {"kind": "clip", "model": "clipgan-tiny", "train": {}}
    config["judges"] = {"resnet18": judge}
    with pytest.raises(ConfigError, match="judges.resnet18: the primary judge's name"):
        validate_config(config, schema)
    config["classes"] = ["sea_ice", "ice", "forest"]
    config["judges"] = {"a": judge, "a_sea": judge}
    with pytest.raises(ConfigError, match="the table would have two columns named prob_a_sea_ice"):
        validate_config(config, schema)


def test_audit_labels_are_refused_with_replicates(demo, schema):
    demo["replicates"] = 3
    validate_config(demo, schema)
    demo["audit"] = {"labels": "labels.csv"}
    with pytest.raises(ConfigError, match="audit.labels: not with replicates > 1"):
        validate_config(demo, schema)
