import numpy as np
import pandas as pd
import pytest

from clipgan.table import bias_schema, image_schema, read_metadata, read_table, search_schema, write_table

CLASSES = ["forest", "sea"]


def _rows(n=3):
    return pd.DataFrame({
        "generator": "g", "prompt_id": "p", "prompt": "a prompt", "condition": "guided", "restart": np.arange(n),
        "seed": np.arange(n) * 7, "image_path": [f"img_{i}.png" for i in range(n)], "true_class": None,
        "clip_score": 0.5,
        "clip_score_augmented": 0.4, "initial_clip_score": 0.3, "realism": 0.2, "n_evals": 800, "search_s": 1.5,
        "judge": "resnet18", "prob_forest": 0.75, "prob_sea": 0.25, "predicted": "forest",
    })


def test_image_table_schema_has_the_design_columns():
    names = image_schema(CLASSES).names
    for col in ["generator", "prompt_id", "prompt", "condition", "restart", "seed", "image_path", "clip_score",
                "realism", "n_evals", "search_s", "judge", "prob_forest", "prob_sea", "predicted"]:
        assert col in names
    assert search_schema().names == names[:len(search_schema().names)]


def test_roundtrip_with_types_and_metadata(tmp_path):
    path = tmp_path / "t.parquet"
    write_table(_rows(), path, image_schema(CLASSES), {"config_hash": "abc"})
    back = read_table(path)
    assert list(back.columns) == image_schema(CLASSES).names
    assert back.restart.dtype == np.int32 and back.n_evals.dtype == np.int64
    meta = read_metadata(path)
    assert meta["config_hash"] == "abc" and "torch" in meta["versions"]


def test_a_missing_or_extra_column_is_an_error_and_writes_nothing(tmp_path):
    path = tmp_path / "t.parquet"
    with pytest.raises(ValueError, match="missing \\['prob_sea'\\]"):
        write_table(_rows().drop(columns="prob_sea"), path, image_schema(CLASSES))
    with pytest.raises(ValueError, match="unexpected \\['extra'\\]"):
        write_table(_rows().assign(extra=1), path, image_schema(CLASSES))
    assert list(tmp_path.iterdir()) == []


def test_wrong_type_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="restart"):
        write_table(_rows().assign(restart="x"), tmp_path / "t.parquet", image_schema(CLASSES))


def test_bias_schema_names():
    names = bias_schema().names
    assert {"generator", "prompt_id", "baseline", "class", "share_guided", "share_guided_ci_low",
            "share_guided_ci_high", "share_baseline", "log_odds_ratio", "p_value", "q_value", "p_value_omnibus",
            "q_value_omnibus", "headline"} <= set(names)
