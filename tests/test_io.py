import pytest

from clipgan.io import atomic_path, config_hash, load_torch, save_torch, write_json


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_old_file_until_success(tmp_path):
    target = tmp_path / "out.json"
    write_json({"a": 1}, target)
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("{broken")
            raise RuntimeError
    assert target.read_text().strip().startswith("{")
    assert '"a": 1' in target.read_text()


def test_config_hash_ignores_key_order():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


class Custom:  # a pickled object: needs full unpickling
    pass


def test_checkpoints_load_weights_only(tmp_path):
    import torch

    path = tmp_path / "ck.pt"
    save_torch({"w": torch.zeros(2)}, path)
    assert load_torch(path)["w"].shape == (2,)
    torch.save({"obj": Custom()}, path)
    with pytest.raises(Exception, match="[Ww]eights only"):
        load_torch(path)
