"""NSGA-II for many independent restarts at once, on arrays shaped (restarts, population, ...).

Per restart this is pymoo's NSGA-II as `NSGA2(eliminate_duplicates=False)` runs it: binary
tournaments decided by Pareto dominance, then crowding distance; pymoo's SBX and polynomial
mutation, drawing the same random numbers in the same order; survival by non-dominated rank,
then crowding distance, with pymoo's rules for ties, constant objectives and fronts of two
points. What differs is the bookkeeping: ranks, crowding, tournaments, variation and survival
are computed for all restarts in a few array operations instead of through pymoo's
per-individual objects, which cost about 2 ms per restart per generation (more than the models
on a GPU).

Each restart draws from its own numpy Generator, so a restart's result depends on its seed
only, not on how many restarts run beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORST = 1e30  # stands in for a NaN or infinite objective: ranked behind every finite point


@dataclass
class Variation:
    crossover_eta: float = 3.0  # SBX distribution index
    crossover_prob: float = 0.9  # share of matings that cross over; the rest copy their parents
    mutation_eta: float = 3.0  # polynomial mutation distribution index
    crossover_var_prob: float = 0.5  # pymoo's SBX defaults: share of variables crossed ...
    crossover_swap_prob: float = 0.5  # ... and chance the two children swap a variable
    mutation_prob: float = 0.9  # pymoo's PM default: share of offspring mutated at all


def nondominated_ranks(F: np.ndarray) -> np.ndarray:
    """(R, N, 2) objectives, minimised -> (R, N) front index per point, 0 = non-dominated.

    The two-objective sweep: visit points in (f1, f2) order; a point joins the first front whose
    latest member does not dominate it. Only the latest member can: within a front f1 rises
    and f2 falls. One step per point, all restarts at once; O(N^2) per restart in the worst case.
    """
    R, N, M = F.shape
    if M != 2:
        raise ValueError(f"the sweep ranks two objectives, got {M}")
    order = np.lexsort((F[..., 1], F[..., 0]), axis=-1)  # (R, N)
    rows = np.arange(R)
    latest = np.full((R, N, 2), np.inf)  # each front's latest member; empty fronts dominate nothing
    rank = np.empty((R, N), int)
    for step in range(N):
        point = F[rows, order[:, step]]  # (R, 2)
        f1, f2 = latest[..., 0], latest[..., 1]
        dominated = (f2 < point[:, None, 1]) | ((f2 == point[:, None, 1]) & (f1 < point[:, None, 0]))
        front = np.argmin(dominated, axis=1)  # the first front that does not dominate it
        latest[rows, front] = point
        rank[rows, order[:, step]] = front
    return rank


def crowding_distances(F: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """(R, N, 2), (R, N) -> (R, N) NSGA-II crowding distance of each point within its front.

    As pymoo's "cd": per objective, points sorted by value (ties by index) add the gap between
    their neighbours over the front's span; the ends are infinite; an objective that is
    constant over a front adds nothing; fronts of at most two points are all infinite.
    """
    R, N, M = F.shape
    group = (np.arange(R)[:, None] * N + rank).ravel()  # one id per (restart, front)
    f = F.reshape(R * N, M)
    index = np.arange(R * N)
    crowding = np.zeros(R * N)
    for m in range(M):
        order = np.lexsort((index, f[:, m], group))
        values, groups = f[order, m], group[order]
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        first = np.zeros(len(values), bool)
        first[starts] = True
        last = np.r_[first[1:], True]
        span = np.repeat(np.maximum.reduceat(values, starts) - np.minimum.reduceat(values, starts),
                         np.diff(np.r_[starts, len(values)]))
        gap_before = np.where(first, np.inf, values - np.r_[values[:1], values[:-1]])
        gap_after = np.where(last, np.inf, np.r_[values[1:], values[-1:]] - values)
        crowding[order] += np.where(span > 0, (gap_before + gap_after) / np.where(span > 0, span, 1), 0.0)
    crowding /= M
    crowding[np.bincount(group, minlength=R * N)[group] <= 2] = np.inf
    return crowding.reshape(R, N)


def clean_objectives(F: np.ndarray) -> np.ndarray:
    """NaN and +inf become WORST, so a diverged evaluation ranks last instead of first."""
    F = np.asarray(F, np.float64)
    return np.where(np.isnan(F) | np.isposinf(F), WORST, F)


def hinge_realism(F: np.ndarray, tau: float) -> np.ndarray:
    """(..., 2) objectives (-CLIP, realism) with realism hinged at tau, max(realism - tau, 0): every point at
    least as realistic as typical is equally realistic to the search (see runner.py)."""
    F = np.asarray(F)
    return np.stack([F[..., 0], np.maximum(F[..., 1] - tau, 0.0)], -1)


class BatchedNSGA2:
    """R independent NSGA-II runs advanced together: ask() offspring, tell() their objectives.

    A restart can be retired (`retire`) once it is done: later asks and tells cover the active
    restarts only, in restart order, and a retired restart keeps its last population and front.
    """

    def __init__(self, start: np.ndarray, low: np.ndarray, high: np.ndarray, variation: Variation,
                 rngs: list[np.random.Generator]):
        self.R, self.P, self.D = start.shape
        if len(rngs) != self.R:
            raise ValueError(f"need one random generator per restart, got {len(rngs)} for {self.R}")
        self.low, self.high = np.asarray(low, np.float64), np.asarray(high, np.float64)
        self.variation, self.rngs = variation, rngs
        self.X = np.asarray(start, np.float64)  # as given, as pymoo takes its sampling
        self.F = self.rank = self.crowding = None
        self.active = np.ones(self.R, bool)
        self._pending = self.X  # the first ask() returns the start population

    def ask(self) -> np.ndarray:
        """(active restarts, P, D) candidates to evaluate next: the start population first, then offspring."""
        if self._pending is None:
            self._pending = self._offspring(np.flatnonzero(self.active))
        return self._pending

    def tell(self, F: np.ndarray) -> None:
        """Objectives (active restarts, P, 2) of the last ask(); keeps the best P of parents + offspring."""
        F = clean_objectives(F)
        rows = np.flatnonzero(self.active)
        if self._pending is None or F.shape != (len(rows), self.P, 2):
            raise ValueError(f"tell() expects objectives {(len(rows), self.P, 2)} for the last ask()")
        if self.F is None:
            X, F_all = self._pending, F
        else:
            X, F_all = np.concatenate([self.X[rows], self._pending], 1), np.concatenate([self.F[rows], F], 1)
        self._pending = None
        self._survive(rows, X, F_all)

    def retire(self, restarts: np.ndarray) -> None:
        """Stop advancing these restarts (indices or a mask); only between a tell() and the next ask()."""
        if self._pending is not None and self.F is not None:
            raise RuntimeError("retire() between ask() and tell() would drop the asked offspring")
        self.active[restarts] = False

    def fronts(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per restart, the (X, F) of its non-dominated points (rank 0 of the last survival)."""
        return [(self.X[r][self.rank[r] == 0], self.F[r][self.rank[r] == 0]) for r in range(self.R)]

    def _survive(self, rows: np.ndarray, X: np.ndarray, F: np.ndarray) -> None:
        rank = nondominated_ranks(F)
        crowding = crowding_distances(F, rank)
        tie_break = np.stack([self.rngs[r].random(F.shape[1]) for r in rows])
        # lower front first, then larger crowding, ties at random; lexsort's last key is primary
        keep = np.lexsort((tie_break, -crowding, rank), axis=-1)[:, :self.P]
        if self.F is None:  # the first survival: every restart is active
            self.X = np.empty((self.R, self.P, self.D))
            self.F = np.empty((self.R, self.P, 2))
            self.rank, self.crowding = np.empty((self.R, self.P), int), np.empty((self.R, self.P))
        at = np.arange(len(rows))[:, None]
        self.X[rows], self.F[rows] = X[at, keep], F[at, keep]
        self.rank[rows], self.crowding[rows] = rank[at, keep], crowding[at, keep]

    def _tournament_winners(self, rows: np.ndarray, n: int) -> np.ndarray:
        """(len(rows), n) parent indices, each the winner of a binary tournament (dominance, then crowding).

        Contestants come from consecutive random permutations of the population, as pymoo draws them.
        """
        P = self.P
        rngs = [self.rngs[r] for r in rows]
        n_permutations = -(-2 * n // P)
        pairs = np.stack([np.concatenate([rng.permutation(P) for _ in range(n_permutations)])[:2 * n]
                          for rng in rngs])
        a, b = pairs[:, 0::2], pairs[:, 1::2]  # (R, n) contestants
        coin = np.stack([rng.random(n) < 0.5 for rng in rngs])
        at = rows[:, None]
        Fa, Fb = self.F[at, a], self.F[at, b]
        a_dominates = (Fa <= Fb).all(-1) & (Fa < Fb).any(-1)
        b_dominates = (Fb <= Fa).all(-1) & (Fb < Fa).any(-1)
        ca, cb = self.crowding[at, a], self.crowding[at, b]
        a_wins = a_dominates | (~b_dominates & ((ca > cb) | ((ca == cb) & coin)))
        return np.where(a_wins, a, b)

    def _offspring(self, rows: np.ndarray) -> np.ndarray:
        P, D, R = self.P, self.D, len(rows)
        rngs = [self.rngs[r] for r in rows]
        n_matings = -(-P // 2)
        winners = self._tournament_winners(rows, 2 * n_matings)
        parents = self.X[rows[:, None], winners].reshape(R, n_matings, 2, D).transpose(0, 2, 1, 3)
        children = sbx(parents, self.low, self.high, self.variation, rngs).reshape(R, 2 * n_matings, D)
        return polynomial_mutation(children[:, :P], self.low, self.high, self.variation, rngs)


def sbx(parents: np.ndarray, low: np.ndarray, high: np.ndarray, v: Variation,
        rngs: list[np.random.Generator]) -> np.ndarray:
    """Simulated binary crossover: (R, 2, M, D) parents -> (R, 2, M, D) children.

    pymoo's `SBX` operator, drawing the same random numbers in the same order from each
    restart's generator, so that one restart's children equal pymoo's (test_nsga2 checks);
    the arithmetic then runs for all restarts at once.
    """
    R, _, M, D = parents.shape
    x1, x2 = parents[:, 0], parents[:, 1]
    mates = np.zeros((R, M), bool)
    crossed = np.zeros((R, M, D), bool)  # variables that cross over
    u = np.full((R, M, D), 0.5)
    swap = np.zeros((R, M, D), bool)
    may_cross = (np.abs(x1 - x2) > 1e-14) & (low < high)
    for r, rng in enumerate(rngs):
        mates[r] = rng.random(M) < v.crossover_prob
        if not mates[r].any():
            continue  # pymoo skips the kernel and its draws
        rng.random((M, 1))  # pymoo's child-exchange draw; with exchange probability 1 it changes nothing
        crossed[r] = (rng.random((M, D)) < v.crossover_var_prob) & may_cross[r]
        n = int(crossed[r].sum())
        u[r][crossed[r]] = rng.random(n)
        swap[r][crossed[r]] = rng.random(n) < v.crossover_swap_prob

    # dense arithmetic (boolean indexing costs more than it saves); variables that do not cross
    # get harmless stand-in parents and are put back at the end
    span = high - low
    a = np.where(crossed, x1, low + 0.25 * span)
    b = np.where(crossed, x2, low + 0.75 * span)
    y1, y2 = np.minimum(a, b), np.maximum(a, b)
    delta = np.where(crossed, y2 - y1, 1.0)
    exponent = v.crossover_eta + 1.0

    def spread(beta: np.ndarray) -> np.ndarray:
        alpha = 2.0 - beta ** -exponent
        with np.errstate(invalid="ignore"):  # each branch is NaN where the other one is taken
            return np.where(u <= 1.0 / alpha, (u * alpha) ** (1.0 / exponent),
                            (1.0 / (2.0 - u * alpha)) ** (1.0 / exponent))

    with np.errstate(divide="ignore"):  # a fixed variable (span 0) never crosses
        low_child = 0.5 * ((y1 + y2) - spread(1.0 + 2.0 * (y1 - low) / delta) * delta)
        high_child = 0.5 * ((y1 + y2) + spread(1.0 + 2.0 * (high - y2) / delta) * delta)
    first_smaller = a < b
    child1, child2 = np.where(first_smaller, low_child, high_child), np.where(first_smaller, high_child, low_child)
    exchange = swap ^ (a > b)
    child1, child2 = np.where(exchange, child2, child1), np.where(exchange, child1, child2)
    children = np.stack([np.where(crossed, np.clip(child1, low, high), x1),
                         np.where(crossed, np.clip(child2, low, high), x2)], 1)
    return np.where(mates[:, None, :, None], children, parents)


def polynomial_mutation(X: np.ndarray, low: np.ndarray, high: np.ndarray, v: Variation,
                        rngs: list[np.random.Generator]) -> np.ndarray:
    """(R, P, D) -> (R, P, D): pymoo's `PM` operator, draw for draw per restart, as `sbx`."""
    R, P, D = X.shape
    mutated = np.zeros((R, P, D), bool)
    u = np.full((R, P, D), 0.5)
    chosen = np.zeros((R, P), bool)
    for r, rng in enumerate(rngs):
        mutated[r] = rng.random((P, D)) < min(0.5, 1.0 / D)
        mutated[r][:, low == high] = False
        u[r][mutated[r]] = rng.random(int(mutated[r].sum()))
        chosen[r] = rng.random(P) <= v.mutation_prob
    where = mutated & chosen[..., None]  # the arithmetic only where a variable mutates
    x, w = X[where], u[where]
    lo, hi = np.broadcast_to(low, X.shape)[where], np.broadcast_to(high, X.shape)[where]
    span = hi - lo
    exponent = v.mutation_eta + 1.0
    below, above = 1.0 - (x - lo) / span, 1.0 - (hi - x) / span
    with np.errstate(invalid="ignore"):  # each branch is NaN where the other one is taken
        step = np.where(w <= 0.5, (2.0 * w + (1.0 - 2.0 * w) * below ** exponent) ** (1.0 / exponent) - 1.0,
                        1.0 - (2.0 * (1.0 - w) + 2.0 * (w - 0.5) * above ** exponent) ** (1.0 / exponent))
    out = X.copy()
    out[where] = np.clip(x + step * span, lo, hi)
    return out
