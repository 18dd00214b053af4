"""Speed benchmark of spade_fastai: seconds per training iteration, seconds per synthesized image and peak memory of named configurations.

One training iteration is one discriminator step and one generator step of `SPADEGANLearner.fit`: fastai's `FixedGANSwitcher`
(n_crit=1, n_gen=1) alternates them batch by batch, starting with the discriminator, so an iteration is two fastai batches
(D on batch 2i, G on batch 2i+1). A batch is timed from its `before_batch` (first callback) to its `after_batch` (last callback):
forward, losses, backward, optimiser step and the library's callbacks, without the data loading. Synthesis is `learn.synthesize`
on a batch of label maps (as tensors, no PIL conversion); s/image is the time of a call over its number of images.
Each (configuration, dtype) runs in a fresh process, so that the peak memory is its own. Prints one JSON line per run.

Examples:
  python bench/speed.py                                     # small, coco128, coco256 on the CPU, 2 threads, fp32
  python bench/speed.py --config coco256 --device cuda --dtype fp32 bf16 --out speed.jsonl
"""
from __future__ import annotations
import argparse, json, os, resource, statistics, subprocess, sys, tempfile, time, warnings
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CONFIGS, DEFAULT_CONFIGS

DEFAULTS = dict(cpu=dict(reps=3, warmup=1, dtype=['fp32']), cuda=dict(reps=20, warmup=5, dtype=['fp32', 'bf16']))

def _sig(x:float, n:int=4) -> float: return float(f'{x:.{n}g}')

def _sync(device:str):
    if device == 'cuda':
        import torch; torch.cuda.synchronize()

def batch_timer(device:str, n_batches:int, n_warmup:int=0):
    "Two fastai callbacks timing each training batch from its first `before_batch` to its last `after_batch`; fit stops after `n_batches`; CUDA peak memory counts from batch `n_warmup` on"
    from fastai.callback.core import Callback, CancelFitException
    times = []
    class Tick(Callback):
        order = -1000   # before every callback of the batch (the trainer, mixed precision, the lr schedule, ...)
        def before_batch(self):
            if not self.training: return
            if device == 'cuda' and len(times) == n_warmup:
                import torch; torch.cuda.reset_peak_memory_stats()   # cudnn.benchmark tries algorithms (and their workspaces) in the first batches
            _sync(device); self.mode, self.t0 = self.learn.gan_trainer.gen_mode, time.perf_counter()
    tick = Tick()
    class Tock(Callback):
        order = 1000    # after every callback of the batch (the switcher, the recorder, ...)
        def after_batch(self):
            if not self.training: return
            _sync(device); times.append(('G' if tick.mode else 'D', time.perf_counter() - tick.t0))
            if len(times) >= n_batches: raise CancelFitException()   # no validation: only the timed batches run
    return [tick, Tock()], times

def iterations(times:list) -> list:
    "(D step s, G step s) of each iteration from the batches' ('D'|'G', seconds), which must alternate D, G"
    modes = ''.join(m for m, _ in times)
    if modes != 'DG' * (len(times) // 2): raise RuntimeError(f"Expected the batches to alternate D, G (FixedGANSwitcher), got {modes}.")
    return [(times[i][1], times[i + 1][1]) for i in range(0, len(times), 2)]

def time_synthesis(learn, device:str, dtype:str, warmup:int, reps:int) -> tuple:
    "Seconds per call of `learn.synthesize` on one training batch of label maps (+ instance maps), and its number of images"
    import torch
    b = learn.dls.train.one_batch()
    labels = list(b[0])
    kw = dict(instance=list(b[1])) if learn.model.generator.use_instance else {}
    ctx = (lambda: torch.autocast('cuda', dtype=torch.bfloat16)) if dtype == 'bf16' else (lambda: torch.autocast(device, enabled=False))
    ts = []
    for i in range(warmup + reps):
        if i == warmup and device == 'cuda': torch.cuda.reset_peak_memory_stats()   # not cudnn.benchmark's trials of the first calls
        _sync(device); t0 = time.perf_counter()
        with ctx(): learn.synthesize(labels, as_tensor=True, **kw)   # returns on the CPU: the copy synchronises
        _sync(device); ts.append(time.perf_counter() - t0)
    return ts[warmup:], len(labels)

def rss_mb() -> float:
    "Current resident set size of this process in MiB (Linux), else its peak"
    try: return int(Path('/proc/self/statm').read_text().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20
    except OSError: return peak_rss_mb()

def peak_rss_mb() -> float:
    "Peak resident set size of this process so far in MiB (`ru_maxrss`: KiB on Linux, bytes on macOS)"
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 2**20 if sys.platform == 'darwin' else r / 2**10

MODES = dict(fast="SPADE's exact fast path (the default)", reference='the dense reference convolutions (the official computation)',
             clade='CLADE modulation (per-label gamma/beta tables, another model)')

def interior_share(learn) -> dict:
    "Interior share (gamma/beta from the per-label table) of the first training batch's label maps at each resolution of the generator"
    from spade_fastai.layers import SemanticIndex
    G = learn.model.generator
    b = learn.dls.train.one_batch()
    import torch
    plain = lambda t: t.as_subclass(torch.Tensor)
    si = G._checked(plain(b[0]), plain(b[1]) if G.use_instance else None)
    norm = G.head_0.norm_0
    ks = norm.mlp_shared[0].kernel_size[0] if hasattr(norm, 'mlp_shared') else 3
    (h, w), out = si.labels.shape[-2:], {}
    while h >= G.sh and w >= G.sw and h >= 4:
        out[f'{h}x{w}'] = round(1 - si.resize((h, w)).plan(ks, indices=False)['band_share'], 3)
        h, w = h // 2, w // 2
    return out

def run_one(name:str, dtype:str, device:str, threads:int, warmup:int, reps:int, bs:int|None=None, lr:float=2e-4, mode:str='fast', labels:str='blobs') -> dict:
    "Benchmark configuration `name` in `dtype` on `device` in this process, with SPADE computed by `mode`, on `labels` label maps: the result as a dict"
    import torch
    torch.set_num_threads(threads)
    try: torch.set_num_interop_threads(threads)
    except RuntimeError: pass   # already set: only possible before the first parallel work
    warnings.filterwarnings('ignore', category=FutureWarning)
    from fastai.torch_core import set_seed
    from _common import synthetic_dls, build_learner, settings, environment
    if device == 'cuda': torch.backends.cudnn.benchmark = True
    t_start, load0 = time.time(), os.getloadavg()
    set_seed(0)
    n_batches = 2 * (warmup + reps)
    with tempfile.TemporaryDirectory(prefix=f'spade_speed_{name}_') as tmp:
        dls = synthetic_dls(name, n_batches, Path(tmp)/'data', bs=bs, device=device, labels=labels)
        rss0 = rss_mb()
        learn = build_learner(name, dls, **(dict(modulation='clade') if mode == 'clade' else {}))
        learn.model.generator.fast = mode != 'reference'
        interior = interior_share(learn)
        learn.model.to(device)
        if dtype == 'bf16': learn.to_bf16()
        # synthesis first: on the CPU the process peak RSS cannot be reset, so the synthesis peak is read before training's
        if device == 'cuda': torch.cuda.reset_peak_memory_stats()
        synth, n_img = time_synthesis(learn, device, dtype, warmup, reps)
        mem = dict(synth=torch.cuda.max_memory_allocated() / 2**20 if device == 'cuda' else peak_rss_mb())
        cbs, times = batch_timer(device, n_batches, 2 * warmup)
        with learn.no_bar(), learn.no_logging(): learn.fit(1, lr, cbs=cbs)
        if len(times) < n_batches: raise RuntimeError(f"Training stopped after {len(times)} of {n_batches} batches (nan_stop: {getattr(learn, 'nan_stop', None)}).")
        mem['train'] = torch.cuda.max_memory_allocated() / 2**20 if device == 'cuda' else peak_rss_mb()
        if device == 'cuda': mem['train_reserved'] = torch.cuda.max_memory_reserved() / 2**20
        else: mem['baseline'] = rss0
        its = iterations(times)[warmup:]
        it_s = [d + g for d, g in its]
        img_s = [t / n_img for t in synth]
        res = dict(bench='speed', config=name, mode=mode, labels=labels, interior_share=interior, **settings(name, learn), dtype=dtype, threads=torch.get_num_threads(), warmup=warmup, reps=reps,
                   s_per_iter=_sig(statistics.median(it_s)), s_per_iter_reps=[_sig(t) for t in it_s],
                   s_d_step=_sig(statistics.median(d for d, _ in its)), s_g_step=_sig(statistics.median(g for _, g in its)),
                   s_per_image=_sig(statistics.median(img_s)), s_per_image_reps=[_sig(t) for t in img_s], synth_batch=n_img,
                   peak_mem_mib={k: round(v, 1) for k, v in mem.items()},
                   peak_mem_kind='torch.cuda.max_memory_allocated over the timed calls/iterations, after warm-up (train_reserved: max_memory_reserved)' if device == 'cuda'
                                 else 'process peak RSS (ru_maxrss; baseline: RSS before the model was built, after imports and data)',
                   iteration='1 D step + 1 G step = 2 fastai batches (FixedGANSwitcher), data loading excluded',
                   **environment(device), loadavg_start=[round(x, 2) for x in load0], loadavg_end=[round(x, 2) for x in os.getloadavg()],
                   wall_s=round(time.time() - t_start, 1), date=datetime.now(timezone.utc).isoformat(timespec='seconds'))
    return res

def parse_args(argv=None):
    p = argparse.ArgumentParser(prog='bench/speed.py', description=__doc__.split('\n\n')[0], epilog='\n'.join(__doc__.split('\n\n')[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', nargs='+', default=list(DEFAULT_CONFIGS), choices=list(CONFIGS), metavar='NAME',
                   help='configurations to run: ' + '; '.join(f'{k}: {v["doc"]}' for k, v in CONFIGS.items()) + f' (default: {" ".join(DEFAULT_CONFIGS)})')
    p.add_argument('--device', choices=['cpu', 'cuda'], default=None, help='where to run (default: cuda if a GPU is visible, else cpu)')
    p.add_argument('--dtype', nargs='+', choices=['fp32', 'bf16'], default=None,
                   help="precisions to run; bf16 is fastai's bfloat16 autocast (learn.to_bf16(), synthesis under torch.autocast), CUDA only (default: fp32 on cpu, fp32 bf16 on cuda)")
    p.add_argument('--reps', type=int, default=None, help='timed iterations (and synthesis calls); the median is reported (default: 3 on cpu, 20 on cuda)')
    p.add_argument('--warmup', type=int, default=None, help='untimed iterations (and synthesis calls) first (default: 1 on cpu, 5 on cuda)')
    p.add_argument('--threads', type=int, default=2, help='torch CPU threads (intra- and inter-op), fixed for comparable figures (default: 2)')
    p.add_argument('--bs', type=int, default=None, help="batch size for every configuration (default: each configuration's own)")
    p.add_argument('--mode', nargs='+', choices=list(MODES), default=['fast', 'reference'],
                   help='how SPADE is computed: ' + '; '.join(f'{k}: {v}' for k, v in MODES.items()) + ' (default: fast reference, side by side)')
    p.add_argument('--labels', choices=['blobs', 'real'], default='real',
                   help="label maps: 'real' (the shared datasets' maps resized to each configuration: ADE20K samples for coco/ade20k, Cityscapes for cityscapes, facades for small; needs ../shared/data) or 'blobs' (random blob maps) (default: real)")
    p.add_argument('--out', type=Path, default=None, metavar='FILE.jsonl', help='also append the JSON lines to this file')
    p.add_argument('--worker', nargs=3, default=None, metavar=('CONFIG', 'DTYPE', 'MODE'), help=argparse.SUPPRESS)   # one run, in this process
    a = p.parse_args(argv)
    import torch
    if a.device is None: a.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if a.device == 'cuda' and not torch.cuda.is_available():
        p.error('--device cuda: no CUDA GPU is visible to torch (torch.cuda.is_available() is False); run on a GPU machine or pass --device cpu')
    d = DEFAULTS[a.device]
    a.dtype, a.reps, a.warmup = a.dtype or d['dtype'], a.reps if a.reps is not None else d['reps'], a.warmup if a.warmup is not None else d['warmup']
    if a.device == 'cpu' and 'bf16' in a.dtype: p.error("--dtype bf16 needs --device cuda: learn.to_bf16() (fastai's MixedPrecision) autocasts on CUDA only")
    if a.reps < 1 or a.warmup < 0 or a.threads < 1 or (a.bs is not None and a.bs < 1):
        p.error('--reps, --threads and --bs must be at least 1, --warmup at least 0')
    return a

def main(argv=None) -> int:
    a = parse_args(argv)
    common = dict(device=a.device, threads=a.threads, warmup=a.warmup, reps=a.reps, bs=a.bs, labels=a.labels)
    if a.worker:
        name, dtype, mode = a.worker
        print(json.dumps(run_one(name, dtype, mode=mode, **common)), flush=True)
        return 0
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
    fails = 0
    for name, dtype, mode in [(n, d, m) for n in a.config for d in a.dtype for m in a.mode]:
        print(f'[speed] {name} {dtype} {mode} on {a.device}, {a.labels} label maps: {a.warmup} warm-up + {a.reps} timed iterations ...', file=sys.stderr, flush=True)
        args = [sys.executable, __file__, '--worker', name, dtype, mode, '--device', a.device, '--threads', str(a.threads),
                '--warmup', str(a.warmup), '--reps', str(a.reps), '--labels', a.labels] + (['--bs', str(a.bs)] if a.bs else [])
        r = subprocess.run(args, stdout=subprocess.PIPE, text=True, env=env)
        lines = [l for l in r.stdout.splitlines() if l.startswith('{')]
        if r.returncode or not lines:
            print(f'[speed] error: {name} {dtype} failed (exit code {r.returncode}); its traceback is above', file=sys.stderr); fails += 1; continue
        print(lines[-1], flush=True)
        if a.out:
            with open(a.out, 'a') as f: f.write(lines[-1] + '\n')
    return 1 if fails else 0

if __name__ == '__main__': sys.exit(main())
