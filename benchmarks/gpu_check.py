"""The full study's architectures, random weights, on the GPU: images/s and peak memory. Prints a table.

  python benchmarks/gpu_check.py                        # CUDA, bf16 autocast (what the study runs)
  python benchmarks/gpu_check.py --device cpu --smoke   # seconds-long check that the script works

Builds CLIP ViT-B-32, DCGAN-64, BigGAN-deep-256, the StyleGAN2 LSUN-church generator (256 px,
config-f; once with its latent realism, once with its discriminator) and the ResNet50 judge at
full size with random weights, then for each generator:
  forward: G + CLIP + realism at one batch size, images/s;
  search:  a few generations of clipgan's search (all restarts batched), evaluations/s;
  peak:    the most GPU memory allocated during that generator's runs.
The judge row is ResNet50 classification throughput at its input size.
"""

from __future__ import annotations

import argparse
import time

import torch
from search_speed import forward_limit, sync  # the sibling benchmark's timing (benchmarks/ is on sys.path)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device: torch.device) -> float:
    return torch.cuda.max_memory_allocated() / 2 ** 30 if device.type == "cuda" else float("nan")


def build_generators(device: torch.device) -> dict:
    from clipgan.generators.biggan import BigGAN, BigGANArch, random_biggan_state
    from clipgan.generators.dcgan import DCGAN, DCGANConfig, DCGANDiscriminatorNet, DCGANGeneratorNet
    from clipgan.generators.stylegan2 import StyleGAN2, StyleGAN2Arch, StyleGAN2DiscriminatorNet, StyleGAN2Net

    torch.manual_seed(0)
    cfg = DCGANConfig(image_size=64, nz=100, ngf=64, ndf=64)
    dcgan = {"config": cfg.__dict__, "generator": DCGANGeneratorNet(cfg).state_dict(),
             "discriminator": DCGANDiscriminatorNet(cfg).state_dict()}
    arch = BigGANArch()  # biggan-deep-256
    church = StyleGAN2Arch.config_f(256, 2)
    church_checkpoint = {"g_ema": StyleGAN2Net(church).state_dict(), "latent_avg": torch.zeros(church.style_dim)}
    church_d = StyleGAN2DiscriminatorNet(church.channels).state_dict()
    return {
        "DCGAN-64": lambda: DCGAN(dcgan, device=device),
        "BigGAN-deep-256": lambda: BigGAN(arch, random_biggan_state(arch), device=device, truncation=0.4),
        "StyleGAN2-church-256": lambda: StyleGAN2(church_checkpoint, device=device),
        "StyleGAN2-church-256+D": lambda: StyleGAN2({**church_checkpoint, "d": church_d}, device=device,
                                                    realism="discriminator"),
    }


def search_rate(generator, scorer, device: torch.device, smoke: bool, batch: int) -> float:
    from clipgan.search import SearchConfig, run_search

    cfg = SearchConfig(restarts=1 if smoke else 16, pop_size=2 if smoke else 32, generations=1 if smoke else 4,
                       eval_batch=batch, prior_samples=2 if smoke else 64)
    result = run_search(generator, scorer, cfg, device=device)
    return float(result.n_evals.sum()) / result.seconds


@torch.no_grad()
def judge_rate(device: torch.device, batch: int, repeats: int, input_size: int = 224) -> tuple[float, float, float]:
    from clipgan.judge import Judge, JudgeConfig, build_resnet

    classes = ["buildings", "forest", "glacier", "mountain", "sea", "street"]
    cfg = JudgeConfig(arch="resnet50", input_size=input_size, classes=classes)
    judge = Judge({"config": cfg.__dict__, "state_dict": build_resnet("resnet50", 6).state_dict()}, device)
    images = torch.rand(batch, 3, 256, 256, device=device) * 2 - 1
    reset_peak(device)
    for i in range(repeats + 1):
        if i == 1:
            sync(device)
            t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            judge.probabilities(images, batch=batch)
    sync(device)
    params = sum(p.numel() for p in judge.model.parameters()) / 1e6
    return batch * repeats / (time.perf_counter() - t0), peak_gib(device), params


def main() -> None:
    from clipgan.clip import ClipScorer, ClipSpec, load_clip

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=None, help="images per forward (default: 64 GPU, 2 smoke)")
    parser.add_argument("--smoke", action="store_true", help="tiny budgets: only checks that everything runs")
    args = parser.parse_args()
    device = torch.device(args.device)
    batch = args.batch or (2 if args.smoke else 64)
    repeats = 1 if args.smoke else 5
    clip, tokenizer = load_clip(ClipSpec(model="ViT-B-32"), device)  # random weights, full size
    scorer = ClipScorer(clip, tokenizer, "a beautiful landscape", device=device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device: {name}; CLIP ViT-B-32 ({sum(p.numel() for p in clip.parameters()) / 1e6:.0f} M parameters); "
          f"batch {batch}; bf16 autocast: {device.type == 'cuda'}")
    rows = []
    for label, make in build_generators(device).items():
        generator = make()
        params = sum(p.numel() for net in vars(generator).values() if isinstance(net, torch.nn.Module)
                     for p in net.parameters()) / 1e6
        reset_peak(device)
        forward = forward_limit(generator, scorer, device, [batch], seconds=0.1 if args.smoke else 3.0)[batch]
        search = search_rate(generator, scorer, device, args.smoke, batch)
        rows.append((label, params, generator.image_size, forward, search, peak_gib(device)))
        del generator
    judge_images_per_s, judge_peak, judge_params = judge_rate(device, batch, repeats)
    print(f"{'model':<22} {'params M':>9} {'px':>4} {'G+CLIP img/s':>13} {'search evals/s':>15} {'peak GiB':>9}")
    for label, params, px, forward, search, peak in rows:
        print(f"{label:<22} {params:>9.1f} {px:>4} {forward:>13.1f} {search:>15.1f} {peak:>9.2f}")
    print(f"{'ResNet50 judge':<22} {judge_params:>9.1f} {224:>4} {judge_images_per_s:>13.1f} {'':>15} "
          f"{judge_peak:>9.2f}")
    print(f"device={device.type} " + " ".join(f"{label}={forward:.1f}img/s" for label, _, _, forward, _, _ in rows))


if __name__ == "__main__":
    main()
