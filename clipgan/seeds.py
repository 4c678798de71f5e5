"""Every random stream of a study is named, not numbered.

A seed is a hash of the study seed and the ids involved (a generator, a prompt, a restart, a
baseline), never a position in a sorted list, so adding a generator, a prompt or a restart
changes nothing that existed before.
"""

from __future__ import annotations

import hashlib

SEED_RANGE = 2**32  # numpy's legacy seeding (pymoo) takes at most 32 bits


def derive_seed(seed: int, *names: object) -> int:
    """A seed in [0, 2**32) for the stream named `names` under the study seed `seed`."""
    text = "\x1f".join([str(int(seed)), *(str(n) for n in names)])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") % SEED_RANGE


def replicate_seed(seed: int, replicate: str) -> int:
    """The study seed of a replicate (`replicates: N`): the study's own seed for the first, `r1`, so that adding
    replicates keeps the run a study already made; for the others a seed derived from the study seed and the id."""
    return int(seed) if replicate == "r1" else derive_seed(seed, "replicate", replicate)
