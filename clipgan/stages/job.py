"""What a stage receives: its rule's named inputs, outputs and params, its wildcards and its log.

`run(snakemake)` is the whole of every script in scripts/: it finds the stage named after the
rule, starts the rule's log and calls the stage with the rule's declarations, under the same names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from clipgan.io import config_hash

STAGES: dict[str, Callable[["Job"], None]] = {}


class Names(dict):
    """A rule's named files, params or wildcards, by attribute (`job.input.table`) or by key."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no {name!r} here; the rule declares {sorted(self)}") from None


@dataclass
class Job:
    """One job of a rule. Files are paths (str) or lists of paths, as the rule declares them."""

    input: Mapping[str, Any] = field(default_factory=dict)
    output: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    wildcards: Mapping[str, str] = field(default_factory=dict)
    log: str = ""
    threads: int = 1
    rule: str = ""

    def __post_init__(self) -> None:
        self.input, self.output = Names(self.input), Names(self.output)
        self.params, self.wildcards = Names(self.params), Names(self.wildcards)

    @classmethod
    def from_snakemake(cls, smk: Any) -> "Job":
        def files(named: Any) -> dict[str, Any]:
            return {k: v if isinstance(v, str) else [str(p) for p in v] for k, v in named.items()}

        return cls(input=files(smk.input), output=files(smk.output), params=dict(smk.params.items()),
                   wildcards=dict(smk.wildcards.items()), log=str(smk.log[0]) if smk.log else "",
                   threads=int(smk.threads), rule=smk.rule)

    def optional_input(self, name: str) -> str:
        """A declared input that may be an empty list (not configured): its path, or ""."""
        value = self.input.get(name, [])
        return value if isinstance(value, str) else (value[0] if value else "")

    def device(self):
        """The torch device of the rule's `device` param ('auto' takes CUDA when present)."""
        from clipgan.runtime import pick_device

        return pick_device(self.params.device)

    def provenance(self) -> dict[str, str]:
        """Written into every table a stage writes: a hash of the params that made it."""
        return {"params_hash": config_hash(dict(self.params))}


def stage(fn: Callable[[Job], None]) -> Callable[[Job], None]:
    """Register a stage under its function's name, which is its rule's name."""
    STAGES[fn.__name__] = fn
    return fn


def run(smk: Any) -> None:
    """The body of every script: the stage named after `smk.rule`, with the rule's declarations."""
    from clipgan.runtime import start_step

    job = Job.from_snakemake(smk)
    if job.rule not in STAGES:
        raise KeyError(f"rule {job.rule!r} has no stage function of that name in clipgan.stages")
    start_step(job.log, job.rule, {**job.wildcards, **job.params}, job.threads)
    STAGES[job.rule](job)


def by_wildcards(paths: list[str], pattern: str) -> dict[tuple[str, ...], str]:
    """Pair files with their wildcards by name: {("dcgan_nature", "sunny"): path} for a pattern
    "results/search/{generator}/{prompt}/history.csv". A path the pattern does not match is an error."""
    names = re.findall(r"{(\w+)}", pattern)
    regex = re.compile("(?:^|/)" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(pattern)) + "$")
    out = {}
    for path in paths:
        match = regex.search(Path(path).as_posix())
        if not match:
            raise ValueError(f"{path} does not match {pattern}")
        out[tuple(match.group(n) for n in names)] = str(path)
    return out
