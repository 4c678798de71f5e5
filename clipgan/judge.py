"""The judge: a torchvision ResNet that labels every image with one of the scene classes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from clipgan.data.augment import degrade, to_tensor_images
from clipgan.checkpoints import load_torch
from clipgan.resume import Resumer

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class JudgeConfig:
    arch: str = "resnet18"  # any torchvision resnet: resnet18, resnet50, ...
    weights: str = ""  # "" = from scratch; else a torchvision state dict file (ImageNet weights)
    weights_sha256: str = ""  # of `weights`, checked before loading when given
    trust_pickle: bool = False  # allow a `weights` file that needs pickle (requires weights_sha256)
    input_size: int = 32  # images are resized to this before the network
    epochs: int = 4
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    classes: list[str] = field(default_factory=list)
    checkpoint_every: int = 200  # steps between resume saves (0 = none)


def build_resnet(arch: str, n_classes: int, weights_file: str = "", *, sha256: str = "",
                 trust_pickle: bool = False) -> nn.Module:
    """A torchvision ResNet with a fresh `n_classes` head; backbone weights from a state dict file."""
    import torchvision  # here: importing it costs every job seconds (it loads torch._dynamo)

    if not arch.startswith("resnet") or not hasattr(torchvision.models, arch):
        raise ValueError(f"unknown judge architecture {arch!r} (config key judge.arch); "
                         "choose a torchvision resnet: resnet18, resnet34, resnet50, resnet101, resnet152")
    model = getattr(torchvision.models, arch)(weights=None)
    if weights_file:
        state = load_torch(weights_file, sha256=sha256, trust_pickle=trust_pickle, key="judge")
        state = state.state_dict() if isinstance(state, nn.Module) else state.get("state_dict", state)
        model.load_state_dict(state)  # ImageNet head included; replaced below
    model.fc = nn.Linear(model.fc.in_features, n_classes)
    return model


def _normalise(x: torch.Tensor, size: int) -> torch.Tensor:
    """[-1, 1] images -> ImageNet-normalised at the judge's input size."""
    x = (x + 1) / 2
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def train_judge(images: np.ndarray, labels: np.ndarray, cfg: JudgeConfig, *, device: str = "cpu",
                progress=None, resume: Resumer | None = None) -> tuple[dict, list[dict]]:
    """Fine-tune on (N, H, W, 3) uint8 images with integer labels; returns (checkpoint, log).

    With `resume`, training state is saved every `resume.every` steps and picked up again.
    """
    from clipgan.training import one_cycle, train_epochs

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = build_resnet(cfg.arch, len(cfg.classes), cfg.weights, sha256=cfg.weights_sha256,
                         trust_pickle=cfg.trust_pickle).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    steps = cfg.epochs * max(len(images) // cfg.batch_size, 1)
    sched = one_cycle(opt, cfg.lr, steps, warmup_share=0.2)
    y_all = torch.as_tensor(labels, dtype=torch.long)

    def step(idx, epoch):
        model.train()
        x = _normalise(degrade(to_tensor_images(images[idx]), rng), cfg.input_size).to(device)
        y = y_all[idx].to(device)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        return {"loss": loss.item(), "train_accuracy": (logits.argmax(1) == y).float().mean().item()}

    history = train_epochs(n=len(images), batch_size=cfg.batch_size, epochs=cfg.epochs, shuffle=rng.permutation,
                           step=step, stateful={"model": model, "opt": opt, "sched": sched, "rng": rng},
                           losses={"loss": "cross-entropy"}, model="judge", setting="judge.lr", resume=resume,
                           progress=progress)
    checkpoint = {"config": asdict(cfg), "state_dict": model.state_dict()}
    return checkpoint, history


class Judge:
    """A trained judge ready to label images in [-1, 1]."""

    def __init__(self, checkpoint: dict, device: str | torch.device = "cpu"):
        self.cfg = JudgeConfig(**checkpoint["config"])
        self.device = torch.device(device)
        self.model = build_resnet(self.cfg.arch, len(self.cfg.classes))
        self.model.load_state_dict(checkpoint["state_dict"])
        self.model.to(self.device).eval().requires_grad_(False)
        self.classes = list(self.cfg.classes)

    @classmethod
    def load(cls, path: str, device: str | torch.device = "cpu") -> "Judge":
        return cls(load_torch(path), device)

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor, batch: int = 256) -> np.ndarray:
        """(N, n_classes) softmax probabilities for (N, 3, H, W) images in [-1, 1]."""
        out = []
        for start in range(0, len(images), batch):
            x = _normalise(images[start:start + batch].float().to(self.device), self.cfg.input_size)
            out.append(F.softmax(self.model(x).float(), dim=1).cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, len(self.classes)), np.float32)


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts, rows = true class, columns = predicted."""
    cm = np.zeros((n_classes, n_classes), int)
    np.add.at(cm, (true, pred), 1)
    return cm
