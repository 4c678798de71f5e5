import pytest

from clipgan.checkpoints import UnsafeCheckpointError, load_torch
from clipgan.io import atomic_path, config_hash, save_torch, sha256_file, write_json


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


def test_pickle_needs_an_opt_in_with_the_files_sha256(tmp_path):
    import torch

    path = tmp_path / "ck.pt"
    torch.save({"obj": Custom(), "w": torch.ones(1)}, path)
    sha = sha256_file(path)
    with pytest.raises(UnsafeCheckpointError, match=rf"generators.g.trust_pickle: true and generators.g.sha256: {sha}"):
        load_torch(path, key="generators.g")
    with pytest.raises(UnsafeCheckpointError, match=rf"trust_pickle needs generators.g.sha256 too .*{sha}"):
        load_torch(path, trust_pickle=True, key="generators.g")
    with pytest.raises(UnsafeCheckpointError, match="the config expects 0000"):
        load_torch(path, trust_pickle=True, sha256="0" * 64, key="generators.g")
    assert isinstance(load_torch(path, trust_pickle=True, sha256=sha)["obj"], Custom)


def test_sha256_is_checked_for_weights_only_files_too(tmp_path):
    path = tmp_path / "ck.pt"
    save_torch({"w": __import__("torch").zeros(2)}, path)
    with pytest.raises(UnsafeCheckpointError, match="sha256 is"):
        load_torch(path, sha256="1" * 64)


def test_clip_file_that_needs_pickle_is_refused_unless_vouched_for(tmp_path, tiny_clip_config):
    import torch

    from clipgan.clip import ClipSpec, load_clip

    model, _ = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config)))
    path = tmp_path / "clip.pt"
    torch.save({"state_dict": model.state_dict(), "args": Custom()}, path)  # a training checkpoint
    spec = ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config), pretrained=str(path))
    with pytest.raises(UnsafeCheckpointError, match=r"\(clip\) holds Python objects.*clip.trust_pickle: true"):
        load_clip(spec)
    spec.trust_pickle, spec.sha256 = True, sha256_file(path)
    loaded, _ = load_clip(spec)
    assert torch.equal(loaded.logit_scale, model.logit_scale)


def test_judge_weights_that_need_pickle_are_refused(tmp_path):
    import torch
    import torchvision

    from clipgan.judge import build_resnet

    path = tmp_path / "resnet18.pt"
    torch.save({"state_dict": torchvision.models.resnet18().state_dict(), "meta": Custom()}, path)
    with pytest.raises(UnsafeCheckpointError, match="judge.trust_pickle"):
        build_resnet("resnet18", 6, str(path))
    model = build_resnet("resnet18", 6, str(path), sha256=sha256_file(path), trust_pickle=True)
    assert model.fc.out_features == 6
