"""Procedural scenes of the six study classes, with captions that carry a planted bias.

Every scene is drawn on a float canvas at twice the output size and box-filtered down, so
edges are anti-aliased. Sky, light, layout, colour and scale are drawn from the scene's own
random generator, so a (seed, index) pair always gives the same image.

The captions are where the demo plants its bias: a configured word goes into captions of a
configured class with a configured probability and rarely elsewhere. This module knows the
six scene classes (it has to draw them) but never the planted word or class: those arrive in
`CaptionConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

Canvas = np.ndarray  # (H, W, 3) float32 in [0, 1]


# ---------------------------------------------------------------------------------------------
# drawing primitives


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [0, 1): y grows downwards."""
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    return np.meshgrid(c, c, indexing="ij")  # (H, W) each


def _paint(canvas: Canvas, mask: np.ndarray, color: np.ndarray) -> None:
    """Paint `color` (3,) or a per-pixel (H, W, 3) array where `mask` (H, W) is true."""
    if color.ndim == 1:
        canvas[mask] = color
    else:
        canvas[mask] = color[mask]


def _jitter(rng: np.random.Generator, color, amount: float = 0.06) -> np.ndarray:
    return np.clip(np.asarray(color, np.float32) + rng.normal(0, amount, 3), 0, 1).astype(np.float32)


def _vertical_gradient(y: np.ndarray, top, bottom) -> np.ndarray:
    top, bottom = np.asarray(top, np.float32), np.asarray(bottom, np.float32)
    t = np.clip(y, 0, 1)[..., None]
    return top * (1 - t) + bottom * t


def _ridge(x: np.ndarray, rng: np.random.Generator, base: float, n_peaks: int, height: float,
           sharpness: float) -> np.ndarray:
    """A jagged skyline y(x): `base` minus a sum of peaked bumps, with small-scale noise."""
    profile = np.full_like(x, base)
    centres = rng.uniform(-0.1, 1.1, n_peaks)
    heights = rng.uniform(0.4, 1.0, n_peaks) * height
    widths = rng.uniform(0.12, 0.35, n_peaks)
    for c, h, w in zip(centres, heights, widths):
        bump = np.clip(1 - np.abs(x - c) / w, 0, None) ** sharpness
        profile = np.minimum(profile, base - h * bump)
    detail = sum(rng.uniform(0.004, 0.012) * np.sin(x * f + rng.uniform(0, 6.3))
                 for f in rng.uniform(20, 70, 3))
    return profile + detail


# ---------------------------------------------------------------------------------------------
# sky and light, shared by every class

_SKIES = {
    "day": ((0.20, 0.42, 0.80), (0.62, 0.80, 0.95)),
    "dusk": ((0.30, 0.22, 0.45), (0.98, 0.60, 0.35)),
    "overcast": ((0.55, 0.58, 0.62), (0.80, 0.81, 0.82)),
    "dawn": ((0.45, 0.60, 0.85), (0.98, 0.85, 0.70)),
}


def _sky(canvas: Canvas, y: np.ndarray, x: np.ndarray, rng: np.random.Generator,
         horizon: float, kinds=tuple(_SKIES)) -> str:
    kind = kinds[rng.integers(len(kinds))]
    top, bottom = _SKIES[kind]
    canvas[:] = _vertical_gradient(y / max(horizon, 0.05), _jitter(rng, top), _jitter(rng, bottom))
    if kind != "overcast" and rng.random() < 0.5:
        sx, sy, r = rng.uniform(0.1, 0.9), rng.uniform(0.05, horizon * 0.7 + 0.05), rng.uniform(0.04, 0.08)
        sun = (x - sx) ** 2 + (y - sy) ** 2 < r * r
        _paint(canvas, sun, np.array((1.0, 0.95, 0.75), np.float32))
    if rng.random() < 0.5:  # a few soft clouds
        for _ in range(rng.integers(1, 4)):
            cx, cy = rng.uniform(0, 1), rng.uniform(0.03, horizon * 0.6 + 0.03)
            rx, ry = rng.uniform(0.08, 0.2), rng.uniform(0.02, 0.05)
            cloud = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1
            canvas[cloud] = canvas[cloud] * 0.3 + 0.7 * np.float32(0.95)
    return kind


def _light(canvas: Canvas, rng: np.random.Generator) -> Canvas:
    """Global exposure and colour cast: the same class in different light."""
    gain = rng.uniform(0.75, 1.15)
    cast = 1 + rng.normal(0, 0.05, 3).astype(np.float32)
    return np.clip(canvas * gain * cast, 0, 1)


# ---------------------------------------------------------------------------------------------
# the six classes


def _mountain(canvas: Canvas, y, x, rng) -> None:
    horizon = rng.uniform(0.55, 0.8)
    _sky(canvas, y, x, rng, horizon * 0.6)
    rock = np.array(rng.choice([(0.45, 0.42, 0.40), (0.40, 0.36, 0.30), (0.35, 0.38, 0.45)]), np.float32)
    n_layers = rng.integers(1, 4)
    for layer in range(n_layers):  # far to near: far layers paler and bluer
        depth = (n_layers - 1 - layer) / max(n_layers - 1, 1)
        base = horizon + 0.05 * layer
        profile = _ridge(x[0], rng, base, rng.integers(2, 5), rng.uniform(0.35, 0.6), rng.uniform(1.0, 1.6))
        below = y > profile[None, :]
        color = _jitter(rng, rock * (1 - 0.35 * depth) + np.array((0.55, 0.62, 0.75)) * 0.35 * depth, 0.04)
        shade = (1.0 - 0.35 * (x > rng.uniform(0.3, 0.7)))[..., None]  # lit and shaded flanks
        _paint(canvas, below, color * shade)
        if rng.random() < 0.7:  # snow caps near the peaks
            snow = below & (y < profile[None, :] + rng.uniform(0.05, 0.12)) & (profile[None, :] < base - 0.15)
            _paint(canvas, snow, _jitter(rng, (0.93, 0.94, 0.97), 0.02))
    ground = y > horizon + 0.05 * n_layers + rng.uniform(0.0, 0.1)
    _paint(canvas, ground, _vertical_gradient(y, _jitter(rng, (0.30, 0.45, 0.20)), _jitter(rng, (0.20, 0.32, 0.12))))


def _glacier(canvas: Canvas, y, x, rng) -> None:
    horizon = rng.uniform(0.3, 0.5)
    _sky(canvas, y, x, rng, horizon, kinds=("day", "overcast", "dawn"))
    for layer in range(rng.integers(1, 3)):  # low rounded ice ridges
        profile = _ridge(x[0], rng, horizon + 0.06 * layer, rng.integers(2, 4), rng.uniform(0.08, 0.18), 0.6)
        ice = y > profile[None, :]
        tone = _jitter(rng, (0.80, 0.90, 0.97), 0.03) * (0.92 + 0.08 * layer)
        _paint(canvas, ice, _vertical_gradient((y - horizon) / (1 - horizon), tone, tone * np.float32(0.78)))
    field = y > horizon + rng.uniform(0.1, 0.2)
    _paint(canvas, field, _vertical_gradient(y, _jitter(rng, (0.70, 0.86, 0.95)), _jitter(rng, (0.45, 0.70, 0.88))))
    for _ in range(rng.integers(3, 8)):  # crevasses: thin dark-blue cracks
        x0, y0 = rng.uniform(0, 1), rng.uniform(horizon + 0.15, 1)
        slope, length = rng.uniform(-0.4, 0.4), rng.uniform(0.1, 0.35)
        crack = (np.abs(y - (y0 + slope * (x - x0))) < 0.008 + 0.01 * (y - horizon)) & (np.abs(x - x0) < length)
        _paint(canvas, crack & field, _jitter(rng, (0.15, 0.35, 0.60), 0.04))


def _forest(canvas: Canvas, y, x, rng) -> None:
    horizon = rng.uniform(0.1, 0.35)
    _sky(canvas, y, x, rng, horizon)
    ground = y > horizon
    _paint(canvas, ground, _jitter(rng, (0.12, 0.25, 0.10), 0.03))
    conifer = rng.random() < 0.6
    greens = [(0.10, 0.35, 0.12), (0.18, 0.45, 0.15), (0.08, 0.28, 0.15), (0.30, 0.50, 0.18)]
    n_trees = rng.integers(18, 40)
    tops = np.sort(rng.uniform(horizon - 0.15, 0.85, n_trees))  # back to front
    for top in tops:
        cx = rng.uniform(-0.05, 1.05)
        scale = 0.15 + 0.5 * (top - horizon + 0.15)  # nearer trees are bigger
        color = _jitter(rng, greens[rng.integers(len(greens))], 0.04)
        trunk = (np.abs(x - cx) < 0.012 * (1 + 2 * scale)) & (y > top) & (y < top + 1.6 * scale)
        _paint(canvas, trunk, _jitter(rng, (0.30, 0.20, 0.12), 0.03))
        if conifer:
            crown = (y > top) & (y < top + 1.3 * scale) & (np.abs(x - cx) < (y - top) * 0.38)
        else:
            r = 0.35 * scale + 0.03
            crown = (x - cx) ** 2 + ((y - top - r) * 1.1) ** 2 < r * r
        shade = (1 - 0.25 * (x > cx))[..., None]
        _paint(canvas, crown, color * shade)


def _sea(canvas: Canvas, y, x, rng) -> None:
    horizon = rng.uniform(0.3, 0.6)
    sky_kind = _sky(canvas, y, x, rng, horizon)
    water = y > horizon
    deep = _jitter(rng, rng.choice([(0.05, 0.25, 0.45), (0.05, 0.35, 0.45), (0.10, 0.30, 0.55)]), 0.04)
    near = deep * np.float32(0.6)
    body = _vertical_gradient((y - horizon) / (1 - horizon), deep * 1.3, near)
    waves = np.sin(np.clip(y - horizon, 0, None) ** 0.6 * rng.uniform(60, 110) + np.sin(x * rng.uniform(6, 14)) * 1.5)
    body = body * (1 + 0.12 * waves[..., None] * ((y - horizon) > 0.02)[..., None])
    _paint(canvas, water, np.clip(body, 0, 1))
    if sky_kind in ("dusk", "dawn") or rng.random() < 0.3:  # light path on the water
        path = water & (np.abs(x - rng.uniform(0.3, 0.7)) < 0.03 + 0.15 * (y - horizon)) & (waves > 0.3)
        _paint(canvas, path, _jitter(rng, (0.95, 0.85, 0.65), 0.03))
    if rng.random() < 0.5:  # a beach at the bottom
        shore = 1 - rng.uniform(0.1, 0.25) + 0.04 * np.sin(x * rng.uniform(4, 9) + rng.uniform(0, 6))
        sand = y > shore
        _paint(canvas, sand, _jitter(rng, (0.85, 0.78, 0.58), 0.04))
        foam = (y > shore - 0.015) & ~sand
        _paint(canvas, foam, np.array((0.95, 0.97, 0.98), np.float32))


def _windows(canvas: Canvas, region: np.ndarray, u: np.ndarray, v: np.ndarray, rng, lit: bool) -> None:
    """A grid of windows inside `region`, given façade coordinates (u across, v up)."""
    nu, nv = rng.uniform(10, 22), rng.uniform(10, 22)
    fill = rng.uniform(0.35, 0.6)
    grid = ((u * nu) % 1 < fill) & ((v * nv) % 1 < fill)
    color = (0.95, 0.85, 0.45) if lit else (0.20, 0.25, 0.32)
    _paint(canvas, region & grid, _jitter(rng, color, 0.04))


def _buildings(canvas: Canvas, y, x, rng) -> None:
    night = rng.random() < 0.2
    _sky(canvas, y, x, rng, 0.6)
    if night:
        canvas *= np.float32(0.3)
    facades = [(0.62, 0.60, 0.58), (0.60, 0.32, 0.25), (0.35, 0.45, 0.60), (0.80, 0.75, 0.65), (0.45, 0.45, 0.48)]
    ground = rng.uniform(0.85, 1.0)
    edges = np.sort(np.concatenate([[0.0, 1.0], rng.uniform(0, 1, rng.integers(2, 6))]))
    for left, right in zip(edges[:-1], edges[1:]):  # a row of façades, front view
        top = rng.uniform(0.05, 0.5)
        region = (x >= left) & (x < right) & (y > top) & (y < ground)
        color = _jitter(rng, facades[rng.integers(len(facades))], 0.05)
        _paint(canvas, region, color * (0.5 if night else 1.0))
        roof = (x >= left) & (x < right) & (y > top) & (y < top + 0.02)
        _paint(canvas, roof, color * 0.6)
        _windows(canvas, region & (y > top + 0.04), (x - left) / max(right - left, 1e-3), (ground - y), rng, night)
    _paint(canvas, y >= ground, _jitter(rng, (0.35, 0.35, 0.36), 0.03))


def _street(canvas: Canvas, y, x, rng) -> None:
    vx, vy = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.55)  # vanishing point
    _sky(canvas, y, x, rng, vy, kinds=("day", "overcast", "dusk"))
    below = np.clip(y - vy, 1e-4, None)
    # road: a wedge from the vanishing point to the bottom corners
    spread_l, spread_r = rng.uniform(0.8, 1.6), rng.uniform(0.8, 1.6)
    road = (y > vy) & (x > vx - spread_l * below) & (x < vx + spread_r * below)
    _paint(canvas, road, _jitter(rng, (0.28, 0.28, 0.30), 0.03))
    depth = 1 / below  # grows toward the vanishing point
    dashes = road & (np.abs(x - vx) < 0.012 * below / 0.5 + 0.002) & ((depth * 0.6) % 1 < 0.5)
    _paint(canvas, dashes, np.array((0.95, 0.90, 0.55), np.float32))
    walk = (y > vy) & ~road & ((x > vx - (spread_l + 0.35) * below) & (x < vx + (spread_r + 0.35) * below))
    _paint(canvas, walk, _jitter(rng, (0.55, 0.53, 0.50), 0.03))
    # building walls on both sides, in perspective toward the vanishing point
    for side, spread in ((-1, spread_l + 0.35), (1, spread_r + 0.35)):
        top_at_edge = rng.uniform(-0.3, 0.15)
        dx = np.clip(side * (x - vx), 1e-4, None)  # horizontal distance from the vanishing point
        reach = abs((0.0 if side < 0 else 1.0) - vx)
        t = dx / max(reach, 1e-3)  # 0 at the vanishing point, 1 at the image edge
        wall_top = vy + (top_at_edge - vy) * t
        wall_bottom = vy + spread_l * 0 + (dx / spread)
        wall = (side * (x - vx) > rng.uniform(0.02, 0.08)) & (y > wall_top) & (y < wall_bottom)
        color = _jitter(rng, [(0.62, 0.55, 0.48), (0.55, 0.30, 0.25), (0.50, 0.52, 0.55)][rng.integers(3)], 0.05)
        _paint(canvas, wall, color * np.float32(0.85 if side < 0 else 1.0))
        u = np.log(np.clip(t, 1e-3, None)) * 1.2  # façade coordinate, compressed with depth
        v = (y - wall_top) / np.clip(wall_bottom - wall_top, 1e-3, None)
        _windows(canvas, wall & (v > 0.08) & (v < 0.85), u, v, rng, lit=False)


RENDERERS: dict[str, Callable] = {
    "buildings": _buildings,
    "forest": _forest,
    "glacier": _glacier,
    "mountain": _mountain,
    "sea": _sea,
    "street": _street,
}
CLASSES: tuple[str, ...] = tuple(sorted(RENDERERS))


def render_scene(cls: str, rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """One (size, size, 3) uint8 scene of class `cls`."""
    if cls not in RENDERERS:
        raise ValueError(f"unknown scene class {cls!r}; the renderer draws: {', '.join(CLASSES)}")
    hi = size * 2
    y, x = _grid(hi)
    canvas = np.zeros((hi, hi, 3), np.float32)
    RENDERERS[cls](canvas, y, x, rng)
    canvas = _light(canvas, rng)
    canvas = canvas.reshape(size, 2, size, 2, 3).mean(axis=(1, 3))  # 2x2 box filter
    if rng.random() < 0.5:
        canvas = canvas[:, ::-1]
    return (np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# captions


_NOUNS = {
    "buildings": ["buildings", "a city block", "office towers", "apartment buildings", "a facade"],
    "forest": ["a forest", "woods", "trees", "a pine forest", "woodland"],
    "glacier": ["a glacier", "an ice field", "ice", "a frozen plain", "an ice sheet"],
    "mountain": ["a mountain", "mountains", "a mountain range", "peaks", "a ridge"],
    "sea": ["the sea", "the ocean", "a coast", "waves", "a beach"],
    "street": ["a street", "a road", "an avenue", "a city street", "a lane"],
}
# Adjectives for captions that do not carry the planted word. The planted word is config.
_FILLER_ADJECTIVES = ["quiet", "wide", "distant", "bright", "cold", "old", "sunny", "grey", "calm", "open"]
_CLASS_TEMPLATES = ["a photo of {noun}", "{noun}", "a view of {noun}", "a picture of {noun}", "{noun} in the distance"]
_CLASS_TEMPLATES_ADJ = ["a photo of {adj} {noun}", "{adj} {noun}", "a view of {adj} {noun}", "{noun}, {adj}"]
_FREE_TEMPLATES = ["a landscape", "a view", "a photo", "a scene", "a picture", "outdoors"]
_FREE_TEMPLATES_ADJ = ["a {adj} landscape", "a {adj} view", "a {adj} scene", "a {adj} place", "a {adj} photo"]


@dataclass
class CaptionConfig:
    planted_word: str  # the word whose meaning the demo plants
    planted_class: str  # the class it is planted on
    planted_probability: float  # P(word in caption | planted class)
    background_probability: float  # P(word in caption | any other class)
    class_free_share: float = 0.2  # captions that name no class: the bias reaches vague prompts through them
    adjective_share: float = 0.9  # P(an adjective), the same for every class; the planted word is one of them

    def __post_init__(self) -> None:
        for name in ("planted_probability", "background_probability"):
            if getattr(self, name) > self.adjective_share:
                raise ValueError(f"{name} {getattr(self, name)} exceeds adjective_share {self.adjective_share}: the "
                                 "planted word takes its share from the adjectives")


def caption(cls: str, rng: np.random.Generator, cfg: CaptionConfig) -> str:
    """One template caption of a `cls` scene; the planted word enters at its configured rates.

    Whether a caption has an adjective does not depend on the class: the planted word takes its
    share from the filler adjectives. Otherwise adjective-free captions, the control prompt's
    words ("a landscape"), would be rarer for the planted class, and the control biased by
    construction.
    """
    p_word = cfg.planted_probability if cls == cfg.planted_class else cfg.background_probability
    adj = None
    if rng.random() < cfg.adjective_share:
        if rng.random() < p_word / cfg.adjective_share:
            adj = cfg.planted_word
        else:
            adj = _FILLER_ADJECTIVES[rng.integers(len(_FILLER_ADJECTIVES))]
    if rng.random() < cfg.class_free_share:
        templates = _FREE_TEMPLATES_ADJ if adj else _FREE_TEMPLATES
        return templates[rng.integers(len(templates))].format(adj=adj)
    noun = _NOUNS[cls][rng.integers(len(_NOUNS[cls]))]
    templates = _CLASS_TEMPLATES_ADJ if adj else _CLASS_TEMPLATES
    text = templates[rng.integers(len(templates))].format(adj=adj, noun=noun)
    return text.replace("a a", "an a").replace("a o", "an o").replace("a i", "an i")


def has_adjective(text: str, planted_word: str) -> bool:
    """Whether a caption carries an adjective: a filler one or the planted word."""
    words = set(text.replace(",", " ").split())
    return bool(words & (set(_FILLER_ADJECTIVES) | {planted_word}))


# ---------------------------------------------------------------------------------------------
# a whole domain


@dataclass
class DomainSpec:
    name: str
    class_mix: dict[str, float]  # class -> share of the domain's images
    n_train: int
    n_test: int
    seed: int
    image_size: int = 32
    captions: CaptionConfig | None = None

    def counts(self, n: int) -> dict[str, int]:
        """Split n images over the mix by largest remainder, so counts always sum to n."""
        classes = [c for c, w in self.class_mix.items() if w > 0]
        weights = np.array([self.class_mix[c] for c in classes], float)
        raw = weights / weights.sum() * n
        counts = np.floor(raw).astype(int)
        for i in np.argsort(-(raw - counts))[: n - counts.sum()]:
            counts[i] += 1
        return dict(zip(classes, counts.tolist()))


@dataclass
class Scene:
    split: str
    cls: str
    index: int
    image: np.ndarray = field(repr=False)
    caption: str = ""


def generate_domain(spec: DomainSpec):
    """Yield every Scene of a domain, deterministically from `spec.seed`."""
    for split_id, (split, n) in enumerate((("train", spec.n_train), ("test", spec.n_test))):
        for cls, count in sorted(spec.counts(n).items()):
            if cls not in RENDERERS:
                raise ValueError(f"domain {spec.name!r}: unknown class {cls!r}; choose from {', '.join(CLASSES)}")
            for i in range(count):
                rng = np.random.default_rng([spec.seed, split_id, CLASSES.index(cls), i])
                image = render_scene(cls, rng, spec.image_size)
                text = caption(cls, rng, spec.captions) if spec.captions else ""
                yield Scene(split, cls, i, image, text)
