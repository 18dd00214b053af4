"""OASIS's noise in the SPADE layers: `SemanticNoise` (the noise's convolution from one vector per image) against the dense
concatenation (one-hot map + 64 noise channels at every pixel), side by side: a generator's forward + backward.

The generator is `bench/quality.py`'s OASIS model (`ngf=16, hidden=64, noise_nc=64`) on 64 px label maps of 12 classes, batch 8.
Rounds alternate the two paths; the figures are medians.

Example:
  python bench/oasis_noise.py --threads 1 --rounds 7
"""
import argparse, contextlib, statistics, sys, time
import torch, torch.nn.functional as F
from unittest import mock

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--threads', type=int, default=1); p.add_argument('--rounds', type=int, default=7)
    p.add_argument('--bs', type=int, default=8); p.add_argument('--size', type=int, default=64); p.add_argument('--classes', type=int, default=12)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    from spade_fastai.generator import SPADEGenerator
    from spade_fastai.layers import SemanticNoise
    torch.manual_seed(0)
    G = SPADEGenerator(a.classes, ngf=16, crop_size=a.size, hidden=64, noise_nc=64)
    lbl = torch.randint(0, a.classes, (a.bs, a.size // 8, a.size // 8)).repeat_interleave(8, 1).repeat_interleave(8, 2)   # 8x8-pixel blocks
    dense = lambda self, W, b=None: F.conv2d(self.dense(W.dtype), W, b, padding=W.shape[-1] // 2)   # the reference: the concatenated map
    def step(): G(lbl).mean().backward()
    ts = {'SemanticNoise': [], 'dense': []}
    step()
    for _ in range(a.rounds):
        for k in ts:
            with (mock.patch.object(SemanticNoise, 'conv', dense) if k == 'dense' else contextlib.nullcontext()):
                t = time.perf_counter(); step(); ts[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in ts.items()}
    print(f"generator forward + backward, bs {a.bs}, {a.size} px, {a.classes} classes, {a.threads} thread(s), median of {a.rounds}: "
          f"SemanticNoise {med['SemanticNoise']:.3f} s, dense {med['dense']:.3f} s, speed-up {med['dense'] / med['SemanticNoise']:.2f}x")

if __name__ == '__main__': sys.exit(main())
