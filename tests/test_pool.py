"""The prior pool and early stopping (clipgan.search.pool, run_search's `pool` and `patience`)."""

import numpy as np
import pytest
import torch

from clipgan.search import PriorPool, SearchConfig, draw_pool, run_search
from clipgan.search.nsga2 import nondominated_ranks
from test_search import ToyGenerator


class ToyClip:
    """A scorer with image features: feature = unit((brightness, 1)), text = (1, 0); brighter scores higher."""

    def image_features(self, images, encode=None):
        v = images[:, 0, 0, 0].float()
        return torch.nn.functional.normalize(torch.stack([v, torch.ones_like(v)], 1), dim=1)

    def score_features(self, features):
        return features[:, 0]

    def __call__(self, images, augmented=None, held_out=False):
        return self.score_features(self.image_features(images))


class TwoTargetClip(ToyClip):
    """Restart 0 wants bright images, restart 1 dark ones (the prompt-free search's target per restart)."""

    n_targets = 2

    def score_features(self, features, rows=None):
        return features[:, 0] * torch.from_numpy(np.where(np.asarray(rows) == 0, 1.0, -1.0)).float()

    def score_all(self, features):
        return torch.stack([features[:, 0], -features[:, 0]], 1)

    def __call__(self, images, augmented=None, held_out=False, encode=None, rows=None):
        return self.score_features(self.image_features(images), rows)


def test_with_a_target_per_restart_each_starts_from_its_own_best():
    pool = toy_pool(64)
    cfg = SearchConfig(restarts=2, pop_size=8, generations=1, eval_batch=16, select="clip", seed=3)
    result = run_search(ToyGenerator(), TwoTargetClip(), cfg, pool=pool)
    brightness = result.images[:, 0, 0, 0].numpy()
    assert brightness[0] > 0 > brightness[1], brightness  # the first generation: picked from the pool's slices


def toy_pool(n: int, seed: int = 11) -> PriorPool:
    return draw_pool(ToyGenerator(), ToyClip().image_features, n, seed, eval_batch=16)


def test_a_pool_scores_like_the_search_evaluates_and_saves_whole(tmp_path):
    pool = toy_pool(50)
    assert pool.latents.shape == (50, 8) and pool.features.shape == (50, 2) and pool.realism.shape == (50,)
    gen, clip = ToyGenerator(), ToyClip()
    z = torch.from_numpy(pool.latents)
    images = gen(z)
    np.testing.assert_allclose(clip.score_features(torch.from_numpy(pool.features)).numpy(), clip(images).numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(pool.realism, gen.realism(z, images).numpy(), rtol=1e-6)
    pool.save(tmp_path / "pool.npz")
    again = PriorPool.load(tmp_path / "pool.npz")
    assert np.array_equal(again.latents, pool.latents) and again.seed == 11
    assert np.array_equal(toy_pool(50).latents, pool.latents)  # seeded


def test_each_restart_starts_from_the_best_of_its_own_slice():
    pool = toy_pool(60)
    scores = ToyClip().score_features(torch.from_numpy(pool.features)).numpy()
    tau = pool.typical_realism
    X, F = pool.starts(scores, restarts=4, pop_size=6, tau=tau)
    assert X.shape == (4, 6, 8) and F.shape == (4, 6, 2)
    for r in range(4):
        members = range(15 * r, 15 * r + 15)  # 60 // 4 members each, disjoint
        rows = [next(i for i in members if np.array_equal(pool.latents[i], x)) for x in X[r]]
        assert len(set(rows)) == 6
        np.testing.assert_allclose(F[r, :, 0], -scores[rows])
        slice_F = np.stack([-scores[list(members)], np.maximum(pool.realism[list(members)] - tau, 0)], -1)
        front = np.flatnonzero(nondominated_ranks(slice_F[None])[0] == 0) + 15 * r
        assert set(front[:6]) <= set(rows)  # the non-dominated members come first
    with pytest.raises(ValueError, match="at least 63"):  # 60 // 7 = 8 members each, fewer than 9
        pool.starts(scores, restarts=7, pop_size=9, tau=tau)


def test_the_pool_gives_a_better_start_for_no_evaluations():
    cfg = SearchConfig(restarts=4, pop_size=8, generations=6, eval_batch=32, select="clip", seed=2)
    fresh = run_search(ToyGenerator(), ToyClip(), cfg)
    pooled = run_search(ToyGenerator(), ToyClip(), cfg, pool=toy_pool(4 * 8 * 8))
    assert (fresh.n_evals == 8 * 6).all() and (pooled.n_evals == 8 * 5).all()  # the first generation is free
    assert pooled.initial_clip_score.mean() > fresh.initial_clip_score.mean()
    assert pooled.history[0]["evals"] == 0 and fresh.history[0]["evals"] == cfg.prior_samples + 4 * 8
    again = run_search(ToyGenerator(), ToyClip(), cfg, pool=toy_pool(4 * 8 * 8))
    assert np.array_equal(pooled.latents, again.latents)


@pytest.mark.parametrize("engine", ["batched", "pymoo"])
def test_a_stopped_restart_is_the_restart_run_for_that_many_generations(engine):
    """Stopping is per restart: the others evolve as without it, and a stopped one keeps what it had."""
    base = dict(restarts=6, pop_size=8, eval_batch=64, select="typical", seed=7, engine=engine)
    stopping = run_search(ToyGenerator(), ToyClip(), SearchConfig(generations=30, patience=2, tolerance=0.01, **base))
    generations = stopping.n_evals // 8
    assert generations.min() < 30, generations  # something stopped early
    assert stopping.history[-1]["active_restarts"] == 0 or len(stopping.history) == 30
    for g in np.unique(generations):
        plain = run_search(ToyGenerator(), ToyClip(), SearchConfig(generations=int(g), **base))
        same = generations == g
        assert np.array_equal(stopping.latents[same], plain.latents[same]), g


def test_patience_zero_runs_every_generation_and_lanes_agree():
    base = dict(restarts=5, pop_size=8, generations=12, eval_batch=64, seed=3, patience=3, tolerance=0.005)
    one = run_search(ToyGenerator(), ToyClip(), SearchConfig(**base), pool=toy_pool(5 * 8 * 2))
    two = run_search(ToyGenerator(), ToyClip(), SearchConfig(**base), pool=toy_pool(5 * 8 * 2), lanes=2)
    assert np.array_equal(one.latents, two.latents) and np.array_equal(one.n_evals, two.n_evals)
    never = run_search(ToyGenerator(), ToyClip(), SearchConfig(**{**base, "patience": 0}))
    assert (never.n_evals == 8 * 12).all()
