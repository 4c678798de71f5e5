import numpy as np
import pytest
import torch

from clipgan.search import SearchConfig, pick_from_front, run_search, sample_unguided


def test_pick_from_front_rules():
    # a front from best CLIP (top) to best realism (bottom)
    F = np.array([[-0.9, 3.0], [-0.8, 1.0], [-0.5, 0.8], [-0.1, 0.0]])
    assert pick_from_front(F, "clip") == 0
    assert pick_from_front(F, "realism") == 3
    assert pick_from_front(F, "knee") == 1  # normalised distance to the ideal corner
    assert pick_from_front(F, "typical", typical_realism=0.9) == 2  # best CLIP with realism <= 0.9
    assert pick_from_front(F, "typical", typical_realism=-1.0) == 3  # none qualifies: most realistic
    with pytest.raises(ValueError, match="typical, knee, clip, realism"):
        pick_from_front(F, "middle")


class ToyGenerator:
    """Latent -> image whose first channel mean is the latent's mean: a known optimum."""

    latent_dim, image_size = 8, 4

    def __init__(self):
        self.bounds = (np.full(8, -3, np.float32), np.full(8, 3, np.float32))

    def sample_latents(self, n, rng):
        return rng.standard_normal((n, 8)).astype(np.float32)

    def __call__(self, z):
        return torch.tanh(z.mean(1))[:, None, None, None].expand(-1, 3, 4, 4).clone()

    def realism(self, z, images):
        return (z ** 2).mean(1)  # a prior penalty


class ToyScorer:
    """'CLIP' prefers bright images: score = first-pixel value."""

    def __call__(self, images, augmented=None, held_out=False):
        return images[:, 0, 0, 0].float()


class TargetScorer:
    """A target per restart, as the prompt-free search has: even restarts want bright images, odd ones dark."""

    n_targets = 4

    def __call__(self, images, augmented=None, held_out=False, encode=None, rows=None):
        sign = torch.from_numpy(np.where(np.asarray(rows) % 2 == 0, 1.0, -1.0)).float()
        return images[:, 0, 0, 0].float() * sign


def test_each_restart_searches_for_its_own_target():
    cfg = SearchConfig(restarts=4, pop_size=12, generations=10, eval_batch=16, select="clip", seed=5)
    result = run_search(ToyGenerator(), TargetScorer(), cfg)
    brightness = result.images[:, 0, 0, 0].numpy()
    assert (brightness[0::2] > 0.2).all() and (brightness[1::2] < -0.2).all(), brightness
    np.testing.assert_allclose(result.clip_score, np.abs(brightness), rtol=1e-5)  # each scored by its own target


def test_search_improves_over_its_start_and_is_deterministic():
    cfg = SearchConfig(restarts=4, pop_size=12, generations=10, eval_batch=16, select="clip", seed=5)
    a = run_search(ToyGenerator(), ToyScorer(), cfg)
    b = run_search(ToyGenerator(), ToyScorer(), cfg)
    assert a.latents.shape == (4, 8) and a.images.shape == (4, 3, 4, 4)
    assert np.all(a.clip_score >= a.initial_clip_score - 1e-6)
    assert a.clip_score.mean() > a.initial_clip_score.mean() + 0.05
    assert np.array_equal(a.latents, b.latents)
    assert (a.n_evals == 12 * 10).all()


def test_knee_pick_trades_clip_for_realism():
    base = dict(restarts=3, pop_size=16, generations=8, eval_batch=64, seed=1, realism_hinge=False)
    clip = run_search(ToyGenerator(), ToyScorer(), SearchConfig(select="clip", **base))
    real = run_search(ToyGenerator(), ToyScorer(), SearchConfig(select="realism", **base))
    assert clip.clip_score.mean() > real.clip_score.mean()
    assert clip.realism.mean() > real.realism.mean()


def _tiny_dcgan_and_clip(tiny_clip_config):
    """A random-weight DCGAN (32 px) and the tiny CLIP: real architectures, seconds to run."""
    from clipgan.clip import ClipSpec, load_clip
    from clipgan.generators.dcgan import DCGAN, DCGANConfig, DCGANDiscriminatorNet, DCGANGeneratorNet

    torch.manual_seed(0)
    cfg = DCGANConfig(image_size=32, nz=16, ngf=8, ndf=8)
    checkpoint = {"config": cfg.__dict__, "generator": DCGANGeneratorNet(cfg).state_dict(),
                  "discriminator": DCGANDiscriminatorNet(cfg).state_dict()}
    gen = DCGAN(checkpoint)
    model, tok = load_clip(ClipSpec(model="clipgan-tiny", config_file=str(tiny_clip_config)))
    return gen, model, tok


def test_search_on_tiny_dcgan_and_tiny_clip_beats_unguided_at_equal_seeds(tiny_clip_config):
    """Real models (random weights): the guided images score higher than the start population."""
    from clipgan.clip import ClipScorer

    gen, model, tok = _tiny_dcgan_and_clip(tiny_clip_config)
    scorer = ClipScorer(model, tok, "a photo of a forest")
    result = run_search(gen, scorer, SearchConfig(restarts=3, pop_size=8, generations=6, eval_batch=32,
                                                  select="clip", seed=2))
    _, images, _ = sample_unguided(gen, 24, seed=2)
    assert result.clip_score.mean() > result.initial_clip_score.mean()
    assert result.clip_score.mean() > scorer(images).mean().item()


def test_realism_hinge_stops_the_pull_beyond_typical_realism():
    """Without the hinge the front reaches far more realistic (prior-like) latents than with it."""
    base = dict(restarts=3, pop_size=16, generations=12, eval_batch=64, seed=4, select="realism")
    free = run_search(ToyGenerator(), ToyScorer(), SearchConfig(realism_hinge=False, **base))
    hinged = run_search(ToyGenerator(), ToyScorer(), SearchConfig(realism_hinge=True, **base))
    tau = hinged.history[0]["realism_tau"]
    assert free.realism.mean() < tau  # the unhinged search keeps improving realism past typical
    assert hinged.clip_score.mean() > free.clip_score.mean()  # the hinged one spends it on the prompt


def test_engines_and_lanes():
    """Each restart evolves the same whatever runs beside it; pymoo's engine reaches the same quality."""
    base = dict(pop_size=12, generations=10, eval_batch=16, select="clip", seed=3)
    five = run_search(ToyGenerator(), ToyScorer(), SearchConfig(restarts=5, **base))
    three = run_search(ToyGenerator(), ToyScorer(), SearchConfig(restarts=3, **base))
    two_lanes = run_search(ToyGenerator(), ToyScorer(), SearchConfig(restarts=5, **base), lanes=2)
    assert np.array_equal(five.latents[:3], three.latents)
    assert np.array_equal(five.latents, two_lanes.latents)
    assert [row["best_clip"] for row in five.history] == [row["best_clip"] for row in two_lanes.history]

    ours = run_search(ToyGenerator(), ToyScorer(), SearchConfig(restarts=16, **base))
    theirs = run_search(ToyGenerator(), ToyScorer(), SearchConfig(restarts=16, engine="pymoo", **base))
    theirs_again = run_search(ToyGenerator(), ToyScorer(), SearchConfig(restarts=16, engine="pymoo", **base), lanes=3)
    assert np.array_equal(theirs.latents, theirs_again.latents)
    assert (theirs.n_evals == ours.n_evals).all()
    gain = ours.clip_score.mean() - ours.initial_clip_score.mean()
    assert gain > 0.05 and abs(ours.clip_score.mean() - theirs.clip_score.mean()) < 0.5 * gain
    with pytest.raises(ValueError, match="batched, pymoo"):
        run_search(ToyGenerator(), ToyScorer(), SearchConfig(engine="fast", **base))


@pytest.mark.slow
def test_compiled_evaluation_equals_eager(tiny_clip_config):
    """search.compile: the compiled generator, realism and CLIP give the eager objectives."""
    from clipgan.clip import ClipScorer
    from clipgan.search.runner import BatchEvaluator

    gen, model, tok = _tiny_dcgan_and_clip(tiny_clip_config)
    X = gen.sample_latents(12, np.random.default_rng(0))
    for n_augment in (0, 2):
        scorer = ClipScorer(model, tok, "a photo of a forest", n_augment=n_augment)
        eager = BatchEvaluator(gen, scorer, 8, torch.device("cpu")).images_and_objectives(X)[0]
        scorer = ClipScorer(model, tok, "a photo of a forest", n_augment=n_augment)
        compiled = BatchEvaluator(gen, scorer, 8, torch.device("cpu"), compile=True).images_and_objectives(X)[0]
        assert np.allclose(eager, compiled, rtol=1e-4, atol=1e-5), (n_augment, np.abs(eager - compiled).max())
    result = run_search(gen, scorer, SearchConfig(restarts=2, pop_size=4, generations=2, eval_batch=8, compile=True))
    assert np.isfinite(result.clip_score).all()
