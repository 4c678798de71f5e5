"""Generator kinds behind one interface; importing this package registers them all."""

from clipgan.generators import dcgan  # noqa: F401  (registers "dcgan")
from clipgan.generators.base import Generator, build_generator, kinds, register

__all__ = ["Generator", "build_generator", "kinds", "register"]
