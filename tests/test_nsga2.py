"""The batched NSGA-II against pymoo's own, restart by restart."""

import numpy as np
import pytest

from clipgan.search.nsga2 import (BatchedNSGA2, Variation, crowding_distances, nondominated_ranks,
                                  polynomial_mutation, sbx)


def _objectives(rng, R=5, N=40):
    F = rng.standard_normal((R, N, 2)).round(1)  # rounding makes ties and duplicates common
    F[:, 3] = F[:, 7]  # an exact duplicate in every restart
    return F


def test_ranks_equal_pymoos_nondominated_sorting():
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    F = _objectives(np.random.default_rng(0))
    ranks = nondominated_ranks(F)
    for r in range(len(F)):
        expected = np.empty(F.shape[1], int)
        for k, front in enumerate(NonDominatedSorting().do(F[r])):
            expected[front] = k
        assert np.array_equal(ranks[r], expected)


def test_sbx_and_mutation_equal_pymoos_operators_draw_for_draw():
    """Given the same generator state, each restart's children are pymoo's SBX + PM children."""
    from pymoo.core.population import Population
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM

    R, M, D = 4, 5, 12
    low, high = np.full(D, -2.0), np.full(D, 3.0)
    low[5] = high[5] = 0.5  # a fixed variable never moves
    rng = np.random.default_rng(0)
    parents = np.clip(rng.standard_normal((R, 2, M, D)) * 2, low, high)
    parents[:, 1, 0, :4] = parents[:, 0, 0, :4]  # variables too close to cross
    v = Variation(crossover_eta=3.0, crossover_prob=0.6, mutation_eta=5.0)
    children = sbx(parents, low, high, v, [np.random.default_rng(r) for r in range(R)])
    mutants = polynomial_mutation(children.reshape(R, 2 * M, D), low, high, v,
                                  [np.random.default_rng(r + 10) for r in range(R)])
    problem = Problem(n_var=D, n_obj=2, xl=low, xu=high)
    for r in range(R):
        pop = Population.new(X=parents[r].transpose(1, 0, 2).reshape(2 * M, D))
        theirs = SBX(eta=3.0, prob=0.6).do(problem, pop, np.arange(2 * M).reshape(M, 2),
                                            random_state=np.random.default_rng(r))
        assert np.allclose(children[r].reshape(2 * M, D), theirs.get("X"), rtol=0, atol=1e-12)
        theirs = PM(eta=5.0).do(problem, theirs, random_state=np.random.default_rng(r + 10))
        assert np.allclose(mutants[r], theirs.get("X"), rtol=0, atol=1e-12)
    assert not np.array_equal(children, parents) and not np.array_equal(mutants, children.reshape(R, 2 * M, D))
    assert (mutants[..., 5] == 0.5).all() and (mutants >= low).all() and (mutants <= high).all()


def test_crowding_equals_pymoos_per_front_with_ties_duplicates_and_small_fronts():
    from pymoo.operators.survival.rank_and_crowding.metrics import get_crowding_function

    pymoo_crowding = get_crowding_function("cd")
    F = _objectives(np.random.default_rng(2))
    F[0, :, 1] = 0.5  # a restart where one objective is constant
    ranks = nondominated_ranks(F)
    ours = crowding_distances(F, ranks)
    sizes = set()
    for r in range(len(F)):
        for k in np.unique(ranks[r]):
            front = np.flatnonzero(ranks[r] == k)
            sizes.add(len(front))
            assert np.allclose(ours[r, front], pymoo_crowding.do(F[r, front], n_remove=0)), (r, k)
    assert 1 in sizes and 2 in sizes and max(sizes) > 3  # the special cases were exercised


def test_survivors_are_pymoos_rank_and_crowding_survivors():
    """Where the cut through the last front is not a tie in crowding, both keep the same points."""
    from pymoo.core.population import Population
    from pymoo.core.problem import Problem
    from pymoo.operators.survival.rank_and_crowding import RankAndCrowding

    rng = np.random.default_rng(3)
    F = rng.random((6, 64, 2))  # no ties
    X = np.arange(6 * 64, dtype=float).reshape(6, 64, 1)  # a point's index as its latent
    nsga = BatchedNSGA2(X[:, :32], np.zeros(1), np.full(1, 1e9), Variation(),
                        [np.random.default_rng(i) for i in range(6)])
    nsga._survive(np.arange(6), X, F)
    for r in range(6):
        pop = Population.new(X=X[r], F=F[r])
        kept = RankAndCrowding().do(Problem(n_var=1, n_obj=2), pop, n_survive=32,
                                    random_state=np.random.default_rng(0)).get("X")
        assert set(kept.ravel()) == set(nsga.X[r].ravel())


def test_a_restart_depends_on_its_own_seed_only():
    """Restart 1 run beside others evolves exactly as restart 1 run alone (same seed, same start)."""
    def run(seeds, start):
        low, high = np.full(6, -3.0), np.full(6, 3.0)
        nsga = BatchedNSGA2(start, low, high, Variation(), [np.random.default_rng(s) for s in seeds])
        for _ in range(6):
            X = nsga.ask()
            nsga.tell(np.stack([(X ** 2).sum(-1), ((X - 1) ** 2).sum(-1)], -1))
        return nsga

    start = np.random.default_rng(9).standard_normal((3, 10, 6))
    together, alone = run([4, 5, 6], start), run([5], start[1:2])
    assert np.array_equal(together.X[1], alone.X[0])
    assert np.array_equal(together.F[1], alone.F[0])


def test_nan_objectives_rank_last():
    F = np.array([[[np.nan, 0.0], [0.5, 0.5], [1.0, 1.0], [0.2, np.inf]]])
    nsga = BatchedNSGA2(np.zeros((1, 4, 1)), np.zeros(1), np.ones(1), Variation(), [np.random.default_rng(0)])
    nsga.ask()
    nsga.tell(F)
    assert nsga.rank[0][nsga.F[0][:, 0] == 0.5] == 0
    with pytest.raises(ValueError, match="tell"):
        nsga.tell(F)  # nothing was asked since


@pytest.mark.parametrize("pop_size", [8, 9])
def test_converges_like_pymoo_on_a_two_objective_problem(pop_size):
    """Same problem, same settings, 40 seeds each: the final fronts reach the same quality.

    Objectives f1 = |x - 1|^2, f2 = |x + 1|^2 (mean over 10 dims); the Pareto set is the segment
    between -1 and +1, where f1 + f2 = 2 at the best. Compared: mean of min(f1 + f2) per run.
    """
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize

    D, generations = 10, 30
    low, high = np.full(D, -3.0), np.full(D, 3.0)

    def objectives(X):
        return np.stack([((X - 1) ** 2).mean(-1), ((X + 1) ** 2).mean(-1)], -1)

    class Quadratics(Problem):
        def __init__(self):
            super().__init__(n_var=D, n_obj=2, xl=low, xu=high)

        def _evaluate(self, X, out, *args, **kwargs):
            out["F"] = objectives(X)

    seeds = range(40)
    starts = np.stack([np.random.default_rng(s).uniform(-3, 3, (pop_size, D)) for s in seeds])
    pymoo_defaults = Variation(crossover_eta=15.0, mutation_eta=20.0)  # NSGA2()'s own SBX and PM
    ours = BatchedNSGA2(starts, low, high, pymoo_defaults, [np.random.default_rng([s, 1]) for s in seeds])
    for _ in range(generations):
        ours.tell(objectives(ours.ask()))
    ours_best = np.array([F.sum(1).min() for _, F in ours.fronts()])
    theirs_best = np.array([
        minimize(Quadratics(), NSGA2(pop_size=pop_size, sampling=starts[s], eliminate_duplicates=False),
                 ("n_gen", generations), seed=s).F.sum(1).min() for s in seeds])
    start_best = objectives(starts).sum(-1).min(1)
    gap = start_best.mean() - 2  # how far the start is from the Pareto set
    print(f"start {start_best.mean():.3f}, ours {ours_best.mean():.3f}, pymoo {theirs_best.mean():.3f}")
    assert start_best.mean() - ours_best.mean() > 0.5 * gap  # it optimises ...
    assert abs(ours_best.mean() - theirs_best.mean()) < 0.1 * gap  # ... as pymoo does


@pytest.mark.parametrize("engine", ["batched", "pymoo"])
def test_retiring_between_ask_and_tell_is_refused_and_a_retired_restart_stays_put(engine):
    from clipgan.search.runner import PymooRestarts

    start = np.random.default_rng(0).random((3, 8, 2))
    low, high = np.zeros(2), np.ones(2)
    if engine == "batched":  # told its start population's objectives first, as run_search does
        nsga = BatchedNSGA2(start, low, high, Variation(), [np.random.default_rng(s) for s in range(3)])
        nsga.tell(start.sum(-1, keepdims=True).repeat(2, -1))
    else:  # pymoo asks its start population first
        nsga = PymooRestarts(start, low, high, Variation(), range(3), generations=5)
    X = nsga.ask()
    with pytest.raises(RuntimeError, match="between ask\\(\\) and tell\\(\\)"):
        nsga.retire([1])
    nsga.tell(np.stack([X.sum(-1), -X.sum(-1)], -1))
    nsga.retire([1])
    assert nsga.ask().shape[0] == 2 and list(nsga.active) == [True, False, True]
