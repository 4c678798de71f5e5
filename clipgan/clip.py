"""CLIP through one door: load, score images on tensors, and train the demo's tiny model.

`load_clip` resolves weights in a fixed order, like open_clip's own factory:
  1. `pretrained` is an existing file  -> an open_clip state dict (loaded weights-only);
  2. `pretrained` is a known open_clip tag for `model` -> open_clip resolves it (its cache, or
     the network where allowed; the full study fetches tags into resources/models first);
  3. `pretrained` is empty            -> random initialisation (the demo trains it);
  anything else is an error that lists the valid tags and says how to give a local file.
Small architectures (the demo's) are JSON model configs registered with `config_file`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from clipgan.checkpoints import load_torch
from clipgan.io import MissingAssetError

log = logging.getLogger(__name__)


@dataclass
class ClipSpec:
    model: str  # open_clip architecture name, e.g. "ViT-B-32", or the name of `config_file`
    pretrained: str = ""  # a checkpoint file, an open_clip tag, or "" for random weights
    config_file: str = ""  # JSON model config to register (small demo architectures)
    sha256: str = ""  # of a `pretrained` file: checked before loading
    trust_pickle: bool = False  # allow a `pretrained` file that needs pickle (requires sha256)
    section: str = "clip"  # the config section these settings come from (clip, judges.<id>): errors name it


def register_config(config_file: str | Path, section: str = "clip") -> str:
    """Register a JSON model config with open_clip; returns the model name (the file stem)."""
    import open_clip

    path = Path(config_file)
    if not path.is_file():
        raise MissingAssetError(f"CLIP model config {path} not found (config key {section}.config_file)")
    json.loads(path.read_text())  # fail here, with the path, on a malformed file
    open_clip.add_model_config(path)
    return path.stem


def load_clip(spec: ClipSpec, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, object]:
    """Return (model in eval mode, tokenizer) for `spec`."""
    import open_clip

    key = spec.section
    name = register_config(spec.config_file, key) if spec.config_file else spec.model
    if name not in open_clip.list_models():
        raise ValueError(f"unknown CLIP architecture {name!r} (config key {key}.model); "
                         f"available: {', '.join(open_clip.list_models()[:20])}, ... "
                         f"or give a JSON model config in {key}.config_file")
    pretrained = spec.pretrained or None
    if pretrained and not Path(pretrained).is_file():
        tags = open_clip.list_pretrained_tags_by_model(name)
        if pretrained not in tags:
            raise MissingAssetError(
                f"CLIP weights {pretrained!r} (config key {key}.pretrained) are neither a file nor a "
                f"known tag of {name}. Known tags: {', '.join(tags) or 'none'}. To use a local "
                f"checkpoint, set {key}.pretrained to the path of an open_clip state dict file.")
    if pretrained and Path(pretrained).is_file():
        # our own loader (weights-only unless the config vouches for the file), then open_clip's network
        state = load_torch(pretrained, trust_pickle=spec.trust_pickle, sha256=spec.sha256, key=key)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        if not isinstance(state, dict):
            raise ValueError(f"{key}.pretrained: {pretrained} holds a {type(state).__name__}, not a state dict")
        if next(iter(state), "").startswith("module."):
            state = {k[len("module."):]: v for k, v in state.items()}
        model = open_clip.create_model(name, pretrained=None, device=device)
        model.load_state_dict(_fit_to(model, state))
    else:
        model = open_clip.create_model(name, pretrained=pretrained, device=device)
    model.eval().requires_grad_(False)
    return model, open_clip.get_tokenizer(name)


def _fit_to(model: torch.nn.Module, state: dict) -> dict:
    """A state dict saved by another open_clip version or layout, in the form `model` expects
    (open_clip's own converters: the text tower's layout, position embeddings of another length)."""
    from open_clip.model import convert_to_custom_text_state_dict, resize_pos_embed, resize_text_pos_embed

    if "positional_embedding" in state and not hasattr(model, "positional_embedding"):
        state = convert_to_custom_text_state_dict(state)
    for key in ("logit_scale", "logit_bias"):  # a scalar in some versions, a 1-d parameter in others
        if key in state and hasattr(model, key) and getattr(model, key) is not None \
                and state[key].ndim != getattr(model, key).ndim:
            state[key] = state[key].reshape(getattr(model, key).shape)
    state.pop("text.transformer.embeddings.position_ids", None)  # dropped by newer transformers
    resize_pos_embed(state, model)
    resize_text_pos_embed(state, model)
    return state


def image_size(model: torch.nn.Module) -> int:
    size = model.visual.image_size
    return size[0] if isinstance(size, (tuple, list)) else int(size)


def image_mean_std(model: torch.nn.Module) -> tuple[tuple[float, ...], tuple[float, ...]]:
    cfg = getattr(model.visual, "preprocess_cfg", None) or {}
    from open_clip import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

    return tuple(cfg.get("mean", OPENAI_DATASET_MEAN)), tuple(cfg.get("std", OPENAI_DATASET_STD))


class ClipScorer:
    """Cosine similarity between images in [-1, 1] and one prompt, computed on the device.

    CLIP's own preprocessing is done on tensors: resize to the model's input size (bicubic,
    antialiased; our images are square, so no crop is needed) and mean/std normalisation.
    With `n_augment > 0` the score is averaged over that many random crops and flips, which
    makes adversarial pixel patterns that fool one view less rewarding.
    """

    def __init__(self, model: torch.nn.Module, tokenizer, prompt: str | None, *, n_augment: int = 0,
                 augment_seed: int = 0, device: str | torch.device = "cpu", text_features: torch.Tensor | None = None):
        self.model = model
        self.device = torch.device(device)
        self.size = image_size(model)
        mean, std = image_mean_std(model)
        self.mean = torch.tensor(mean, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, device=self.device).view(1, 3, 1, 1)
        self.n_augment = n_augment
        self.augment_seed = augment_seed
        # (1, E), once per prompt; None: image features only (a prior pool's). `text_features` (T, E) instead of a
        # prompt: one target per restart (the prompt-free search), chosen per image by `rows`
        if text_features is not None:
            self.text_features = F.normalize(text_features.to(self.device).float(), dim=-1)
        else:
            self.text_features = None if prompt is None else encode_text(model, tokenizer, [prompt], self.device)

    @property
    def n_targets(self) -> int:
        """Text features the scorer holds: 1 for a prompt, one per restart for the prompt-free search."""
        return 0 if self.text_features is None else len(self.text_features)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        x = (images.float() + 1) / 2  # (N, 3, H, W) in [0, 1]
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bicubic", antialias=True, align_corners=False)
        return (x - self.mean) / self.std

    def _augment(self, images: torch.Tensor, k: int, held_out: bool = False) -> torch.Tensor:
        """Random crop (70-100% side) resized back, and a random flip; same draw for a batch."""
        g = torch.Generator().manual_seed(self.augment_seed * 1000 + k + (500 if held_out else 0))
        n, _, h, w = images.shape
        side = int(h * (0.7 + 0.3 * torch.rand(1, generator=g).item()))
        top = int(torch.randint(0, h - side + 1, (1,), generator=g))
        left = int(torch.randint(0, w - side + 1, (1,), generator=g))
        crop = images[:, :, top:top + side, left:left + side]
        if torch.rand(1, generator=g).item() < 0.5:
            crop = crop.flip(-1)
        return crop

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, augmented: bool | None = None, held_out: bool = False,
                 encode=None, rows=None) -> torch.Tensor:
        """(N,) cosine similarities; `augmented` overrides the scorer's default; `rows`: each image's text
        feature, with several (see `score_features`).

        `held_out` draws the views from a stream the fitness never sees (8 of them), so an
        augmented score reported for a search's result is not the one it optimised.
        `encode` replaces the model's image encoder (the search passes a compiled one).
        """
        use_aug = self.n_augment > 0 if augmented is None else augmented
        n_views = 8 if held_out else max(self.n_augment, 4)
        views = [self._augment(images, k, held_out) for k in range(n_views)] if use_aug else [images]
        scores = torch.zeros(images.shape[0], device=self.device)
        for view in views:
            scores += self.score_features(self.image_features(view, encode), rows)
        return scores / len(views)

    @torch.no_grad()
    def image_features(self, images: torch.Tensor, encode=None) -> torch.Tensor:
        """(N, E) unit-norm image features of one plain view: what any prompt's score is computed from."""
        encode = encode or self.model.encode_image
        return F.normalize(encode(self.preprocess(images)).float(), dim=-1)

    def score_features(self, features: torch.Tensor, rows=None) -> torch.Tensor:
        """(N,) cosine similarities of unit-norm image features (from any prompt's scorer) with this prompt, or,
        for a scorer with several text features, each image's with its own: `rows` (N,) indexes them."""
        text = self._text()
        features = features.to(text.device).float()
        if len(text) == 1:
            return (features @ text.T).squeeze(1)
        if rows is None:
            raise ValueError(f"this scorer has {len(text)} text features: say which each image is scored with (rows)")
        return (features * text[torch.as_tensor(rows, device=text.device, dtype=torch.long)]).sum(-1)

    def score_all(self, features: torch.Tensor) -> torch.Tensor:
        """(N, T) cosine similarities of unit-norm image features with each of the scorer's T text features."""
        text = self._text()
        return features.to(text.device).float() @ text.T

    def _text(self) -> torch.Tensor:
        if self.text_features is None:
            raise ValueError("this scorer was made without a prompt: it gives image features, not scores")
        return self.text_features


# Phrases that name no scene, no class and no prompt word: where CLIP's text features of ordinary text lie.
NEUTRAL_PHRASES = (
    "a photo", "a picture", "an image", "a photograph", "a drawing", "a painting", "something", "a thing",
    "an object", "a shape", "a pattern", "a texture", "a colour", "a detail", "an example", "a sample", "a frame",
    "a still", "a snapshot", "a composition", "a design", "a figure", "an illustration", "a rendering", "a sketch",
    "a print", "a poster", "a card", "a cover", "a page", "a close-up", "a copy",
)


@torch.no_grad()
def random_text_directions(model: torch.nn.Module, tokenizer, n: int, seed: int, device,
                           phrases: Sequence[str] = NEUTRAL_PHRASES) -> torch.Tensor:
    """(n, E) unit-norm targets that carry no prompt's meaning: draws from a Gaussian fitted to the text features
    of `phrases` (their mean and sample covariance, drawn within their span), so each lies where text features
    lie, not in a random corner of the sphere no text reaches."""
    features = encode_text(model, tokenizer, list(phrases), device).cpu()
    mean, centered = features.mean(0), features - features.mean(0)
    weights = torch.randn(n, len(phrases), generator=torch.Generator().manual_seed(int(seed)))
    return F.normalize(mean + weights @ centered / (len(phrases) - 1) ** 0.5, dim=-1)


@torch.no_grad()
def encode_text(model: torch.nn.Module, tokenizer, texts: Sequence[str], device) -> torch.Tensor:
    """(len(texts), E) unit-norm text features. Over-long prompts are truncated with a warning."""
    tokens = tokenizer(list(texts)).to(device)
    context = tokens.shape[-1]
    for text in texts:
        n = len(tokenizer.encode(text)) + 2 if hasattr(tokenizer, "encode") else 0
        if n > context:
            log.warning("prompt %r is %d tokens, longer than CLIP's context of %d: truncated", text, n, context)
    return F.normalize(model.encode_text(tokens).float(), dim=-1)


# ---------------------------------------------------------------------------------------------
# training the demo's tiny CLIP


@dataclass
class ClipTrainConfig:
    epochs: int = 15
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.1
    seed: int = 0
    checkpoint_every: int = 200  # steps between resume saves (0 = none)


def train_clip(model: torch.nn.Module, tokenizer, images: np.ndarray, captions: Sequence[str],
               cfg: ClipTrainConfig, *, device: str = "cpu", progress=None, resume=None) -> list[dict]:
    """Contrastive training on (image, caption) pairs with open_clip's ClipLoss.

    images: (N, H, W, 3) uint8. Returns one log row per epoch (mean loss, in-batch accuracy).
    With `resume` (a clipgan.resume.Resumer), training state is saved every `resume.every`
    steps and picked up again.
    """
    from open_clip import ClipLoss

    from clipgan.data.augment import degrade, to_tensor_images
    from clipgan.training import one_cycle, train_epochs

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model.train().requires_grad_(True).to(device)
    loss_fn = ClipLoss()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    tokens = tokenizer(list(captions))
    n = len(images)
    steps = cfg.epochs * max(n // cfg.batch_size, 1)
    sched = one_cycle(opt, cfg.lr, steps, warmup_share=0.1)
    size = image_size(model)
    mean, std = image_mean_std(model)
    mean_t, std_t = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)

    def step(idx, epoch):
        x = degrade(to_tensor_images(images[idx]), rng)  # (B, 3, H, W) in [-1, 1]
        x = (x + 1) / 2
        if x.shape[-1] != size:
            x = F.interpolate(x, size=(size, size), mode="bicubic", antialias=True, align_corners=False)
        x = ((x - mean_t) / std_t).to(device)
        out = model(x, tokens[idx].to(device))
        img_f, txt_f, scale = (out["image_features"], out["text_features"], out["logit_scale"]) \
            if isinstance(out, dict) else out[:3]
        loss = loss_fn(img_f, txt_f, scale)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, 4.6052)  # cap the temperature at 100, as CLIP does
            accuracy = (img_f @ txt_f.T).argmax(1).eq(torch.arange(len(idx), device=device)).float().mean().item()
        return {"loss": loss.item(), "batch_accuracy": accuracy}

    history = train_epochs(n=n, batch_size=cfg.batch_size, epochs=cfg.epochs, shuffle=rng.permutation, step=step,
                           stateful={"model": model, "opt": opt, "sched": sched, "rng": rng},
                           losses={"loss": "contrastive loss"}, model="CLIP", setting="clip.train.lr", resume=resume,
                           progress=progress)
    model.eval().requires_grad_(False)
    return history


DEFAULT_TEMPLATES = ("a photo of {}", "a picture of {}", "an image of {}", "a photo of a {} scene")


@torch.no_grad()
def class_text_features(model: torch.nn.Module, tokenizer, classes: Sequence[str],
                        templates: Sequence[str] = DEFAULT_TEMPLATES, device="cpu") -> torch.Tensor:
    """(C, E) unit-norm text features per class: the mean over the prompt templates, renormalised (the usual
    zero-shot prompt ensemble)."""
    per_template = torch.stack([encode_text(model, tokenizer, [t.format(c) for c in classes], device)
                                for t in templates])  # (T, C, E)
    return F.normalize(per_template.mean(0), dim=-1)


@torch.no_grad()
def zero_shot_probabilities(model: torch.nn.Module, tokenizer, images: torch.Tensor, classes: Sequence[str],
                            templates: Sequence[str] = DEFAULT_TEMPLATES, device="cpu",
                            batch: int = 256) -> np.ndarray:
    """(N, C) zero-shot class probabilities of images in [-1, 1]: softmax of the model's logit scale times the
    cosine to each class's prompt ensemble."""
    text = class_text_features(model, tokenizer, classes, templates, device)
    scorer = ClipScorer(model, tokenizer, None, device=device)
    scale = float(model.logit_scale.exp()) if hasattr(model, "logit_scale") else 100.0
    out = [F.softmax(scale * scorer.image_features(images[start:start + batch].to(device)) @ text.T, dim=1).cpu()
           for start in range(0, len(images), batch)]
    return torch.cat(out).numpy() if out else np.zeros((0, len(classes)), np.float32)


def zero_shot_accuracy(model: torch.nn.Module, tokenizer, images: np.ndarray, labels: Sequence[str],
                       classes: Sequence[str], template: str = "a photo of {}", device: str = "cpu") -> float:
    """Share of images (uint8, (N, H, W, 3)) whose most similar class prompt is their own class."""
    from clipgan.data.augment import to_tensor_images

    probs = zero_shot_probabilities(model, tokenizer, to_tensor_images(images), classes, (template,), device)
    return float(np.mean([classes[p] == t for p, t in zip(probs.argmax(1), labels)])) if len(images) else 0.0
