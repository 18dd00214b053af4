"""Cost of one SPADE layer on its own: the dense reference against the exact fast path's two modes, by number of labels, resolution and interior share.

The fast path (`SPADE.fast_gamma_beta` on a `SemanticIndex`) computes `mlp_shared` as a gather and gamma/beta either as a
per-label table plus a matrix product at the band pixels ("pixel" mode) or as the dense gamma/beta convolutions of the
gathered map ("full" mode). Which one is cheaper than the dense convolutions depends on the number of label channels (the
dense `mlp_shared` costs in proportion to it, the gather does not), on the share of band pixels (the pixel mode costs in
proportion to it) and on how well the CPU runs each kind of op. This script measures the three side by side, per layer, on
real label maps (the ADE20K samples of ../shared/data, labels taken modulo the number of labels asked for), so that the
generator's choice (`SPADE.fast_mode`, `SemanticIndex.min_gain`) rests on figures. Batch-norm and the modulation are included; the plan
(`SemanticIndex.plan`: bands and gather indices, computed once per resolution and shared by the layers there) is timed
on its own. Prints one line per measurement and one JSON line per (labels, resolution).

Examples:
  python bench/spade_layer.py                                   # 8, 36, 151, 184 labels; the coco256 generator's layers
  python bench/spade_layer.py --labels 8 --size 64 --ngf 16 --hidden 64 --bs 8   # the demo's generator
"""
from __future__ import annotations
import argparse, json, statistics, sys, time
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, environment

def layers(size:int, ngf:int) -> dict:
    "{resolution: norm_nc of the first SPADE layer there} of a generator of `size` px and width `ngf` (the paper: 256, 64 -> 8: 1024, ..., 256: 128)"
    return {size // 32: 16 * ngf, size // 16: 16 * ngf, size // 8: 16 * ngf, size // 4: 8 * ngf, size // 2: 4 * ngf, size: 2 * ngf}

def label_maps(n:int, size:int) -> torch.Tensor:
    "(n, size, size) class indices of the first `n` ADE20K samples, nearest-resized as the data pipeline does"
    fns = sorted((SHARED_DATA/'ade20k_samples'/'labels').glob('*.png'))[:n]
    if not fns: raise SystemExit(f"No label maps in {SHARED_DATA/'ade20k_samples'/'labels'}: this benchmark needs ../shared/data.")
    maps = [torch.from_numpy(np.array(Image.open(f))).long() for f in fns]
    return torch.stack([F.interpolate(m[None, None].float(), size=(size, size), mode='nearest')[0, 0].long() for m in maps])

def median_time(fn, reps:int, warmup:int) -> float:
    for _ in range(warmup): fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)

def main(argv=None):
    from spade_fastai.layers import SPADE, SemanticIndex
    p = argparse.ArgumentParser(prog='bench/spade_layer.py', description=__doc__.split('\n\n')[0], epilog='\n\n'.join(__doc__.split('\n\n')[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--labels', nargs='+', type=int, default=[8, 36, 151, 184], help='label channels of the semantic map')
    p.add_argument('--size', type=int, default=256, help="the generator's output size (default: 256, the paper's)")
    p.add_argument('--ngf', type=int, default=64, help="the generator's width (default: 64, the paper's; the demo's: 16)")
    p.add_argument('--hidden', type=int, default=128, help="SPADE's hidden width (default: 128, the paper's; the demo's: 64)")
    p.add_argument('--res', nargs='+', type=int, default=None, help='resolutions (default: every one of the generator from 8 px)')
    p.add_argument('--bs', type=int, default=1, help='batch size')
    p.add_argument('--reps', type=int, default=5); p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--threads', type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads); torch.manual_seed(0)
    print(f"# python bench/spade_layer.py {' '.join(sys.argv[1:])}; {a.threads} threads", flush=True)
    table = layers(a.size, a.ngf)
    for K in a.labels:
        for res in a.res or [r for r in table if r >= 8]:
            C = table.get(res, 256)
            lbl = label_maps(a.bs, res) % K
            layer = SPADE(C, K, hidden=a.hidden).train()
            x = torch.randn(a.bs, C, res, res, requires_grad=True)
            def seg(mode):
                s = SemanticIndex(lbl, K)
                if mode in ('full', 'pixel'): s.max_band, s.min_gain = (0. if mode == 'full' else 1.), 0.   # that mode, whatever it saves
                return s
            inputs = dict(dense=lambda: seg('dense').dense(), fast=lambda: seg('auto'), full=lambda: seg('full'), pixel=lambda: seg('pixel'))   # fast: each layer's own choice (`SPADE.fast_mode`)
            share = seg('auto').plan(3, indices=False)['band_share']
            row = dict(labels=K, res=res, norm_nc=C, hidden=a.hidden, bs=a.bs, band_share=round(share, 3), choice=layer.fast_mode(seg('auto')), plan_s=median_time(lambda: seg('auto').plan(3), a.reps, a.warmup))
            for mode, make in inputs.items():
                s = make()
                if not isinstance(s, torch.Tensor): s.plan(3)                # the plan is shared by the layers of a resolution: timed on its own above
                def fwd():
                    with torch.no_grad(): layer(x, s)
                def fwd_bwd():
                    layer.zero_grad(); x.grad = None
                    layer(x, s).square().mean().backward()
                row[f'{mode}_fwd_s'], row[f'{mode}_train_s'] = median_time(fwd, a.reps, a.warmup), median_time(fwd_bwd, a.reps, a.warmup)
            for k in list(row):
                if k.endswith('_s'): row[k] = float(f'{row[k]:.4g}')
            print(f"labels {K:4d} res {res:4d} norm_nc {C:5d} band {share:.2f} choice {row['choice']:5s}: forward dense {row['dense_fwd_s']:.4f} fast {row['fast_fwd_s']:.4f} "
                  f"(full {row['full_fwd_s']:.4f}, pixel {row['pixel_fwd_s']:.4f}); fwd+bwd dense {row['dense_train_s']:.4f} fast {row['fast_train_s']:.4f} "
                  f"(full {row['full_train_s']:.4f}, pixel {row['pixel_train_s']:.4f}); plan {row['plan_s']:.4f}", flush=True)
            print(json.dumps(dict(bench='spade_layer', **row, threads=a.threads, **{k: v for k, v in environment('cpu').items() if k in ('torch', 'cpu')})), flush=True)

if __name__ == '__main__': main()
