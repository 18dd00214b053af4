"""Quality at a fixed budget: train SPADE (or OASIS) on a dataset folder for a given number of minutes, then evaluate it; writes metrics.json and samples.png.

The model is the `small` configuration of `_common.CONFIGS` (the quickstart's CPU model, `spade-fastai demo`'s) built by `spade_learner`
on `SegMapDataLoaders.from_folder(--data)` (the folder's `splits/` gives train and validation; else a seeded 80/20 split). It trains as
many epochs as end within `--minutes` (the demo's time-budget callback, `spade_fastai.cli_callbacks.TimeBudget`: it times the first epoch, fixes the
number of epochs, the last one cut short to fit, and decays the learning rate over the last third; validating as the demo does, with `ValidateEvery`
on the first epoch, every fifth and the last, on 32 items), then `spade_fastai.metrics.evaluate` measures the images generated from the
validation label maps (random z, seeded) against the real validation photos: segmentation consistency with a segmenter trained from
scratch on the real training photos (`--seg-epochs`), SWD, and FID/KID when torchvision's Inception-v3 weights are on the machine
(`--inception-weights`, or the torch hub cache). Evaluation time is not part of the budget.

metrics.json: one JSON object: the configuration and its parameter counts, the data, the budget and what it bought (epochs, seconds),
the metrics (headline values by metric and source, and every row of the table), versions, machine, device and load.
samples.png: validation label maps (top), the generated images (middle) and the real photos (bottom).

`--objective oasis` trains `oasis_learner` at the same generator width instead (see bench/README.md); both report the diversity
of 4 samples per validation map (`spade_fastai.metrics.sample_diversity`).

Examples:
  python bench/quality.py --minutes 5                                   # facades (../shared/data/facades) at 64 px on the CPU
  python bench/quality.py --data my_data --size 128 --minutes 30 --device cuda --out quality_128
"""
from __future__ import annotations
import argparse, json, math, os, sys, time, warnings
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CONFIGS, environment, n_params

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent/'shared'/'data'/'facades'
CONFIG = 'small'
OASIS_LEARNER = dict(ngf=16, ndf=16, hidden=64, noise_nc=64)   # `oasis_learner` at the small configuration's generator width; a discriminator of about the size of its two-scale PatchGAN

def _num(v):
    "A JSON-safe number: NaN and infinities become None"
    v = float(v)
    return v if math.isfinite(v) else None

def save_samples(learn, fn:Path, n:int=8, seed:int=0) -> Path:
    "label maps | generated | real photos of the first `n` validation items, in three rows"
    import numpy as np, torch, matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from spade_fastai.data import colorize
    labels, reals = [], []
    for b in learn.dls.valid:
        labels += list(b[0].cpu()); reals += list(b[-1].cpu())
        if len(labels) >= n: break
    labels, reals = labels[:n], reals[:n]
    G = learn.model.generator
    z = torch.randn(len(labels), G.z_dim, generator=torch.Generator().manual_seed(seed)) if G.use_vae else None
    fakes = learn.synthesize(labels, seed=seed, as_tensor=True) if G.noise_nc else learn.synthesize(labels, z=z, as_tensor=True)
    img = lambda t: ((t.float().cpu().permute(1, 2, 0) + 1) / 2).clamp(0, 1).numpy()
    fig, axs = plt.subplots(3, len(labels), figsize=(1.6 * len(labels), 5.2), squeeze=False)
    for j in range(len(labels)):
        for i, p in enumerate([colorize(labels[j], learn.spec), img(fakes[j]), img(reals[j])]):
            axs[i, j].imshow(p, interpolation='nearest'); axs[i, j].axis('off')
    for i, t in enumerate(['label map', 'generated', 'real']): axs[i, 0].set_title(t, fontsize=9, loc='left')
    fig.tight_layout()
    fig.savefig(fn, dpi=100, bbox_inches='tight'); plt.close(fig)
    return fn

def run(a) -> dict:
    "Train for the budget, evaluate, write metrics.json and samples.png; the result as a dict"
    import torch
    torch.set_num_threads(a.threads)
    warnings.filterwarnings('ignore', category=FutureWarning)
    from fastai.torch_core import set_seed
    from spade_fastai.data import SegMapDataLoaders, label_spec
    from spade_fastai.learner import spade_learner
    from spade_fastai.oasis import oasis_learner
    from spade_fastai.metrics import evaluate, metric_summary, sample_diversity
    from spade_fastai.cli_callbacks import TimeBudget, ValidateEvery
    from spade_fastai.cli import _DEMO_VALIDATION
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    t_start, load0 = time.time(), os.getloadavg()
    set_seed(a.seed)
    dls = SegMapDataLoaders.from_folder(a.data, size=a.size, bs=a.bs, seed=a.seed, device=a.device, **({} if a.workers is None else dict(num_workers=a.workers)))
    spec = label_spec(dls)
    lkw = CONFIGS[CONFIG]['learner'] if a.objective == 'spade' else OASIS_LEARNER
    learn = (spade_learner if a.objective == 'spade' else oasis_learner)(dls, **lkw, path=out)
    print(f"[quality] {len(dls.train_ds)} training and {len(dls.valid_ds)} validation pairs of {a.data}, {spec.n_classes} classes, "
          f"{a.size} px; training for {a.minutes:g} minutes on {a.device}", file=sys.stderr, flush=True)
    t0 = time.time()
    budget = TimeBudget(t0 + 60 * a.minutes, verbose=False)
    with learn.no_bar(), learn.no_logging(): learn.fit(100_000, a.lr, cbs=[budget, ValidateEvery(**_DEMO_VALIDATION)])
    train_s, epochs = time.time() - t0, len(learn.recorder.values)
    nan_stop = getattr(learn, 'nan_stop', None)
    last = ', '.join(f'{k} {v:.3f}' for k, v in zip(learn.recorder.metric_names[1:-1], learn.recorder.values[-1])) if epochs else ''   # the last epoch is always validated
    print(f"[quality] trained {epochs} epochs in {train_s:.0f} s ({last}); evaluating", file=sys.stderr, flush=True)
    t0 = time.time()
    df, seg = evaluate(learn, metrics=a.metrics, seg_epochs=a.seg_epochs, inception_weights=a.inception_weights, seed=a.seed, progress=False, return_segmenter=True)
    eval_s = time.time() - t0
    summ = metric_summary(df)
    vl = torch.cat([b[0].cpu() for b in learn.dls.valid])[:a.diversity_maps]
    diversity = sample_diversity(learn, vl, n=4, seed=a.seed)   # mean pairwise per-pixel L1 (colours in [0, 1]) of 4 samples per validation map
    samples = save_samples(learn, out/'samples.png', seed=a.seed)
    m = learn.model
    res = dict(
        bench='quality', config=CONFIG, objective=a.objective,
        learner=dict(lkw, lr=a.lr, ttur=True, **(dict(gan_mode='hinge', lambda_feat=learn.loss_func.lambda_feat) if a.objective == 'spade' else dict(lambda_labelmix=learn.loss_func.lambda_labelmix))),
        params=dict(G=n_params(m.generator), D=n_params(m.critic), E=n_params(m.encoder)),
        data=dict(path=str(Path(a.data).resolve()), size=a.size, bs=a.bs, n_train=len(dls.train_ds), n_valid=len(dls.valid_ds),
                  n_classes=spec.n_classes, dontcare=spec.has_dontcare, codes=spec.codes,
                  split='splits/' if (Path(a.data)/'splits').is_dir() else f'random 80/20, seed {a.seed}'),
        minutes=a.minutes, epochs=epochs, train_s=round(train_s, 1), s_per_epoch=round(train_s / max(epochs, 1), 1), nan_stop=nan_stop,
        plans=budget.plans, batches=len(learn.recorder.losses), workers=dls.train.fake_l.num_workers, validation=_DEMO_VALIDATION,
        final_losses=dict(zip(learn.recorder.metric_names[1:-1], [_num(v) for v in learn.recorder.values[-1]])) if epochs else None,
        evaluation=dict(metrics=df.attrs.get('metrics'), skipped=df.attrs.get('skipped'), n_images=df.attrs.get('n_images'),
                        segmenter=df.attrs.get('segmenter'), seg_epochs=a.seg_epochs, swd=df.attrs.get('swd'), kid=df.attrs.get('kid'),
                        inception_weights=df.attrs.get('inception_weights'), z='random (seeded)', seed=a.seed, eval_s=round(eval_s, 1)),
        diversity=dict(value=round(diversity, 5), maps=len(vl), samples=4, what='mean pairwise per-pixel L1 distance, colours in [0, 1]'),
        metrics={k: {s: _num(v) for s, v in row.items() if not (isinstance(v, float) and math.isnan(v))} for k, row in summ.iterrows()},
        rows=[dict(metric=r.metric, part=r.part, source=r.source, value=_num(r.value)) for r in df.itertuples()],
        files=dict(metrics=str(out/'metrics.json'), samples=str(samples)),
        threads=torch.get_num_threads(), **environment(a.device),
        loadavg_start=[round(x, 2) for x in load0], loadavg_end=[round(x, 2) for x in os.getloadavg()],
        wall_s=round(time.time() - t_start, 1), date=datetime.now(timezone.utc).isoformat(timespec='seconds'))
    (out/'metrics.json').write_text(json.dumps(res, indent=1) + '\n')
    print(summ.round(4).to_string(), file=sys.stderr)
    return res

def parse_args(argv=None):
    from spade_fastai.metrics import _METRICS
    p = argparse.ArgumentParser(prog='bench/quality.py', description=__doc__.split('\n\n')[0], epilog='\n\n'.join(__doc__.split('\n\n')[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', type=Path, default=DEFAULT_DATA, metavar='PATH', help=f'dataset folder in the custom layout: images/, labels/, classes.txt or codes.txt, optional splits/ (default: {DEFAULT_DATA})')
    p.add_argument('--size', type=int, default=64, help='image size in pixels, a multiple of 32 (default: 64)')
    p.add_argument('--minutes', type=float, default=5., help='training budget in minutes; evaluation comes on top (default: 5)')
    p.add_argument('--bs', type=int, default=CONFIGS[CONFIG]['bs'], help=f"batch size (default: {CONFIGS[CONFIG]['bs']})")
    p.add_argument('--objective', choices=['spade', 'oasis'], default='spade', help="'spade': the demo's model and losses (VAE, no VGG); 'oasis': oasis_learner at the same generator width (default: spade)")
    p.add_argument('--lr', type=float, default=2e-3, help="base learning rate, as spade-fastai demo's (TTUR: G at half, D at twice it) (default: 2e-3)")
    p.add_argument('--diversity-maps', type=int, default=32, help='validation label maps for the diversity (4 samples each) (default: 32)')
    p.add_argument('--out', type=Path, default=Path('quality_out'), metavar='DIR', help='folder for metrics.json and samples.png (default: quality_out)')
    p.add_argument('--seg-epochs', type=int, default=10, help='epochs of the segmenter trained on the real training photos (default: 10)')
    p.add_argument('--metrics', nargs='+', choices=list(_METRICS), default=None,
                   help='metrics to compute (default: all; FID and KID only when the Inception-v3 weights are found, otherwise skipped with a warning)')
    p.add_argument('--inception-weights', type=Path, default=None, metavar='FILE', help="torchvision's inception_v3_google-0cc3c7bd.pth (default: the torch hub cache)")
    p.add_argument('--device', choices=['cpu', 'cuda'], default=None, help='where to run (default: cuda if a GPU is visible, else cpu)')
    p.add_argument('--threads', type=int, default=2, help='torch CPU threads (default: 2)')
    p.add_argument('--workers', type=int, default=None, help="DataLoader worker processes (default: the library's `default_workers`: none on the CPU when torch's threads take every core)")
    p.add_argument('--seed', type=int, default=0, help='seed of the split, the weights, z and the metrics (default: 0)')
    a = p.parse_args(argv)
    import torch
    if a.device is None: a.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if a.device == 'cuda' and not torch.cuda.is_available(): p.error('--device cuda: no CUDA GPU is visible to torch; pass --device cpu')
    if not a.data.is_dir(): p.error(f'--data {a.data}: no such folder; pass a dataset folder with images/ and labels/')
    if a.minutes <= 0 or a.bs < 1 or a.threads < 1 or a.seg_epochs < 0 or a.size < 32 or a.size % 32:
        p.error('--minutes must be positive, --bs and --threads at least 1, --seg-epochs at least 0, --size a multiple of 32')
    return a

def main(argv=None) -> int:
    a = parse_args(argv)
    res = run(a)
    print(json.dumps(dict(objective=res['objective'], diversity=res['diversity']['value'], metrics=res['metrics'], epochs=res['epochs'], train_s=res['train_s'], files=res['files'])), flush=True)
    return 0

if __name__ == '__main__': sys.exit(main())
