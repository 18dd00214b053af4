"""Interior share of real label maps: the share of pixels whose SPADE gamma/beta are a per-label constant (the exact fast path's table) rather than a convolution (its band).

For each dataset of `../shared/data` (or folders given with --data), each label map is resized (nearest, as the data pipeline does) to
the image size, then down-sampled (nearest, as the generator does) to every resolution of the generator; a pixel is interior when the
(2*ks-1)^2 square around it holds one label and lies inside the map (`SemanticIndex.plan`). With instance maps, the edges count as
boundaries too. Prints one line per (dataset, size, resolution) and one JSON line per dataset with the shares.

Examples:
  python bench/interior.py                                  # ../shared/data at 64, 128 and 256 px
  python bench/interior.py --data /path/to/labels_folder --size 256 --ks 5
"""
from __future__ import annotations
import argparse, json, sys
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F
from PIL import Image
from spade_fastai.layers import SemanticIndex
from spade_fastai.core import instance_edges

def shares(lbl:torch.Tensor, inst:torch.Tensor|None, size:tuple, ks:int=3) -> dict:
    "{resolution (h, w): interior share} of one label map at image `size`, for the generator's resolutions down to 8 px wide"
    near = lambda t, s: F.interpolate(t[None, None].float(), size=s, mode='nearest')[0, 0].long()
    lbl, inst = near(lbl, size), None if inst is None else near(inst, size)
    edge = None if inst is None else instance_edges(inst[None])[:, 0] > 0
    si = SemanticIndex(lbl[None], int(lbl.max()) + 1, edge)
    out, (h, w) = {}, size
    while min(h, w) >= 8:
        p = si.resize((h, w)).plan(ks, indices=False)
        out[(h, w)] = 1 - p['band_share']
        h, w = h // 2, w // 2
    return out

def main(argv=None):
    p = argparse.ArgumentParser(prog='bench/interior.py', description=__doc__.split('\n\n')[0], epilog='\n'.join(__doc__.split('\n\n')[1:]), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', nargs='+', type=Path, default=None, help='dataset folders with labels/ (and inst/); default: every folder of ../shared/data')
    p.add_argument('--size', nargs='+', type=int, default=[64, 128, 256], help='image widths (height from the aspect ratio of the first label map)')
    p.add_argument('--ks', type=int, default=3, help='SPADE kernel size (3 or 5)')
    p.add_argument('--max-maps', type=int, default=50, help='label maps per dataset')
    a = p.parse_args(argv)
    data = a.data or sorted(d for d in (Path(__file__).resolve().parents[1]/'..'/'shared'/'data').resolve().iterdir() if (d/'labels').is_dir())
    for d in data:
        fns = sorted((d/'labels').glob('*.png'))[:a.max_maps]
        if not fns: print(f'{d}: no labels/*.png, skipped', file=sys.stderr); continue
        res, aspect = {}, None
        for fn in fns:
            lbl = torch.from_numpy(np.array(Image.open(fn))).long()
            if lbl.dim() == 3: lbl = lbl[..., 0]
            ifn = d/'inst'/fn.name
            inst = torch.from_numpy(np.array(Image.open(ifn)).astype(np.int64)) if ifn.exists() else None
            for W in a.size:
                aspect = aspect or lbl.shape[1] / lbl.shape[0]       # the first map's width / height, for all
                H = max(8, round(W / aspect))
                for r, s in shares(lbl, inst, (H, W), a.ks).items(): res.setdefault((W, r), []).append(s)
        rows = {f'{W}px@{r[0]}x{r[1]}': round(float(np.mean(v)), 3) for (W, r), v in sorted(res.items(), key=lambda kv: (kv[0][0], -kv[0][1][1]))}
        for k, v in rows.items(): print(f'{d.name:20} {k:18} interior {v:.3f}')
        print(json.dumps(dict(bench='interior', dataset=d.name, maps=len(fns), ks=a.ks, instance_edges=(d/'inst').is_dir(), interior_share=rows)), flush=True)

if __name__ == '__main__': main()
