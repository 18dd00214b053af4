"Shared helpers of the benchmarks: named configurations, synthetic data, the learner of a configuration, the machine and versions"
from __future__ import annotations
import os, platform, sys, warnings
from pathlib import Path
from spade_fastai.cli import _DEMO_LEARNER   # light: the command line imports torch only when a command runs

# The named configurations. `official`: a paper dataset's options (`PAPER_OPTIONS` via `official_options`) at `crop_size`;
# `learner`: `spade_learner` settings. The networks are built exactly as a user's, with random weights (and a random-weight VGG19).
CONFIGS = dict(
    coco128=dict(official='coco', crop_size=128, bs=1, doc="the paper's COCO-Stuff networks and losses (182 classes + don't-care, instance edges, VGG) at 128 px"),
    coco256=dict(official='coco', crop_size=256, bs=1, doc="the paper's COCO-Stuff configuration at its 256 px"),
    ade20k256=dict(official='ade20k', crop_size=256, bs=1, doc="the paper's ADE20K configuration (150 classes + don't-care, no instances) at 256 px"),
    cityscapes=dict(official='cityscapes', crop_size=512, bs=1, doc="the paper's Cityscapes configuration (35 classes, instances, 256x512, 6 upsamplings)"),
    small=dict(size=64, bs=8, n_classes=8, instances=False, dontcare=None,
               learner=_DEMO_LEARNER,   # `spade-fastai demo`'s model
               doc="the quickstart's CPU model (spade_learner ngf=16, ndf=32, n_layers_D=3, hidden=64, VAE z_dim=64, no VGG) on 64 px scenes, bs 8"),
    small256=dict(size=256, bs=1, n_classes=8, instances=False, dontcare=None, learner=_DEMO_LEARNER,
                  doc="the same model at 256 px (`spade-fastai demo --size 256`), bs 1"),
)
DEFAULT_CONFIGS = ('small', 'coco128', 'coco256')

def official_opts(name:str) -> dict|None:
    "The official options of configuration `name` (None for a `spade_learner` one)"
    c = CONFIGS[name]
    if 'official' not in c: return None
    from spade_fastai.official import official_options
    return official_options(c['official'], crop_size=c['crop_size'])

def data_spec(name:str) -> dict:
    "Image size (h, w), batch size, classes, don't-care and instance maps of configuration `name`"
    c, o = CONFIGS[name], official_opts(name)
    if o is None: return dict(size=(c['size'], c['size']), bs=c['bs'], n_classes=c['n_classes'], dontcare=c['dontcare'], instances=c['instances'])
    return dict(size=(round(o['crop_size'] / o['aspect_ratio']), o['crop_size']), bs=c['bs'], n_classes=o['label_nc'],
                dontcare=255 if o['contain_dontcare_label'] else None, instances=not o['no_instance'])

SHARED_DATA = Path(__file__).resolve().parents[1].parent/'shared'/'data'
REAL_LABELS = dict(coco128='ade20k_samples', coco256='ade20k_samples', ade20k256='ade20k_samples', cityscapes='cityscapes_gtfine', small='facades', small256='facades')

def real_label_folder(
    name:str,             # configuration
    path:Path,            # folder to write into
    n:int,                # pairs to write (the shared maps are reused in turn)
    data:Path|None=None,  # dataset folder with labels/ (and inst/); default: `REAL_LABELS[name]` in ../shared/data
) -> Path:
    "A dataset of real label maps resized (nearest) to the configuration's size, their instance maps (or the label maps as instances), and noise photos"
    import numpy as np
    from PIL import Image
    d = data_spec(name); h, w = d['size']
    src = Path(data or SHARED_DATA/REAL_LABELS[name])
    fns = sorted((src/'labels').glob('*.png'))
    if not fns: raise FileNotFoundError(f"No label maps in {src/'labels'}: real label maps need ../shared/data (or --label-data FOLDER).")
    rng = np.random.default_rng(0)
    for sub in ['images', 'labels'] + (['inst'] if d['instances'] else []): (path/sub).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        fn = fns[i % len(fns)]
        lbl = np.array(Image.open(fn).resize((w, h), Image.NEAREST))
        lbl = np.where(lbl < d['n_classes'], lbl, 0).astype(np.uint8)          # a class the configuration lacks: 0
        Image.fromarray(lbl).save(path/'labels'/f'{i:03d}.png')
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path/'images'/f'{i:03d}.png')
        if d['instances']:
            ifn = src/'inst'/fn.name
            inst = np.array(Image.open(ifn).resize((w, h), Image.NEAREST)) if ifn.exists() else lbl
            Image.fromarray(inst.astype(np.uint16)).save(path/'inst'/f'{i:03d}.png')
    return path

def synthetic_dls(
    name:str,             # configuration
    n_batches:int,        # training batches the run needs (one epoch of them)
    path:Path,            # folder to write the label maps, instance maps and photos into
    bs:int|None=None,     # batch size; default: the configuration's
    device:str='cpu',     # where the batches go
    labels:str='blobs',   # 'blobs': random blob label maps; 'real': the shared datasets' label maps (`REAL_LABELS`)
):
    "`SegMapDataLoaders` of blob or real label maps (+ instance maps) and noisy photos of the configuration's size: `n_batches` training batches, one validation item"
    from fastai.data.transforms import IndexSplitter
    from spade_fastai.data import SegMapDataLoaders
    from spade_fastai.testing import make_toy_folder
    d = data_spec(name); bs = bs or d['bs']
    n = bs * n_batches + 1
    if labels == 'real': real_label_folder(name, path, n)
    else: make_toy_folder(path, n=n, size=d['size'], n_classes=d['n_classes'], use_instance=d['instances'], codes=False)
    return SegMapDataLoaders.from_folder(path, n_classes=d['n_classes'], dontcare=d['dontcare'], use_instance=d['instances'],
                                         size=d['size'], bs=bs, splitter=IndexSplitter([n - 1]), num_workers=0, device=device)

def build_learner(name:str, dls, modulation:str='spade', **kwargs):
    "The learner of configuration `name` on `dls` with SPADE or CLADE (`modulation`), a random-weight VGG19 for the perceptual loss (the same compute as ImageNet weights)"
    from spade_fastai.learner import spade_learner
    from spade_fastai.official import official_learner
    import spade_fastai.inference   # patches learn.synthesize and learn.encode_style onto the learner
    o = official_opts(name)
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message=r'VGG19Features\(weights=None\)')
        if o is not None: return official_learner(dls, dict(o, norm_mode='spade' if modulation == 'spade' else 'clade', add_dist=modulation == 'clade_icpe'), vgg_weights=None, **kwargs)
        return spade_learner(dls, **CONFIGS[name]['learner'], vgg_weights=None, modulation=modulation, **kwargs)

def n_params(m) -> int|None: return None if m is None else sum(p.numel() for p in m.parameters())

def settings(name:str, learn) -> dict:
    "The key settings of configuration `name` as built in `learn`, and the parameter counts of its networks"
    o, m, d, loss = official_opts(name), learn.model, data_spec(name), learn.loss_func
    G, D = m.generator, m.critic
    s = dict(size=list(G.out_size), bs=learn.dls.train.bs, label_nc=d['n_classes'], dontcare=d['dontcare'] is not None,
             instance_edges=bool(G.use_instance), semantic_nc=G.semantic_nc, use_vae=bool(G.use_vae))
    if o is not None:
        s.update(official=CONFIGS[name]['official'], **{k: o[k] for k in ('ngf', 'ndf', 'num_D', 'n_layers_D', 'norm_G', 'num_upsampling_layers', 'gan_mode')})
    else:
        lk = CONFIGS[name]['learner']
        s.update(ngf=lk['ngf'], ndf=lk['ndf'], num_D=len(list(D.children())), n_layers_D=lk['n_layers_D'],
                 hidden=lk['hidden'], z_dim=lk['z_dim'], norm_G='spectralspadebatch3x3', num_upsampling_layers='normal', gan_mode='hinge')
    s.update(lambda_feat=loss.lambda_feat, lambda_vgg=loss.lambda_vgg, vgg_weights='random' if loss.vgg is not None else None)
    params = dict(G=n_params(G), D=n_params(D), E=n_params(m.encoder), VGG=n_params(loss.vgg.vgg) if loss.vgg is not None else None)
    return dict(settings=s, params={k: v for k, v in params.items() if v is not None})

def cpu_name() -> str:
    "The CPU model, from /proc/cpuinfo where there is one"
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()

def environment(device:str) -> dict:
    "Versions, machine and device of this process"
    import torch, fastai, spade_fastai
    env = dict(torch=torch.__version__, fastai=fastai.__version__, spade_fastai=spade_fastai.__version__, python=platform.python_version(),
               cpu=cpu_name(), cpu_count=os.cpu_count(), device=device)
    if device == 'cuda':
        env.update(device_name=torch.cuda.get_device_name(), cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                   cudnn_benchmark=torch.backends.cudnn.benchmark, tf32_conv=torch.backends.cudnn.allow_tf32, tf32_matmul=torch.backends.cuda.matmul.allow_tf32)
    else: env['device_name'] = env['cpu']
    return env
