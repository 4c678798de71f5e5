"""Generator kinds behind one interface; importing this package registers them all."""

from clipgan.generators import biggan, dcgan, renderer, stylegan2  # noqa: F401  (each registers its kind)
from clipgan.generators.base import Generator, GeneratorKind, build_generator, generator_kind, kinds, register

__all__ = ["Generator", "GeneratorKind", "build_generator", "generator_kind", "kinds", "register"]
