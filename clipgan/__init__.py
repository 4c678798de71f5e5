"""clipgan: measure the bias of CLIP-guided GAN latent search."""

__version__ = "0.1.0"
