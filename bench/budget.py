"""Budget benchmark: training iterations in a fixed time of a bare PyTorch loop, of `spade_learner(...).fit` as before, and of a budgeted fit with the new defaults, side by side.

One iteration is one discriminator step and one generator step (fastai's `FixedGANSwitcher` alternates them batch by batch).
Every run trains the `small` configuration (`spade-fastai demo`'s model) on the same data for `--minutes`, in a fresh
process, and counts the training batches that finished within the time; building the data and the model is not timed.
The runs (the variants, one after the other, in an order rotated every round) repeat for `--rounds` rounds, so that a change
of the machine's load hits every variant; the ratios are taken within each round, then their median. Each run also measures
the share of its time spent in training steps (from a loaded batch to its optimiser step done: no data loading, validation,
planning or time left unused): on a machine that others use, whose speed changes from one run to the next, the ratio of these
shares is the ratio of iterations the variants would reach at the same speed.

Variants (`--variants`; each `KIND` with optional `:key=value` settings, e.g. `fit:workers=0:every=1`):
  bare    a plain PyTorch loop over the same batches (`dls.train`): the learner's `SPADEGAN`, `SPADELoss` and optimiser,
          the discriminator and generator steps alternating as in fastai, `SPADEGANTrainer.switch` and `before_step`
          to freeze and unfreeze; no callbacks, no validation, no learning-rate decay. Stops at the deadline.
  fit     `learn.fit` with fastai's callbacks and progress bar, validating every epoch; stops at the deadline (mid-epoch).
  budget  what `spade-fastai demo` does: `TimeBudget` (it plans the epochs and ends before the deadline on its own),
          `ValidateEvery` as the demo sets it (`_DEMO_VALIDATION`), one printed line per epoch and no progress bar.
Settings: workers=N (DataLoader worker processes; default: the variant's, see below), threads=N (torch threads; default
--threads), every=K (`budget`: validate every K epochs; `fit`: 1, or K to validate as `ValidateEvery(K)`).

Default variants: `bare:workers=0` (the official trainer's default, nThreads 0), `fit:workers=old` (fastai's own default, a
worker per CPU up to 16: what `SegMapDataLoaders` used before), and `budget` (the library's defaults now).

`--sweep` measures instead the grid behind the default number of workers (`default_workers`): the bare loop with 0, 1 and 2
DataLoader workers at 2 torch threads, and with 0 and 1 worker at 1 thread, all in one process, 10 steps of each in turn for
`--rounds` rounds (a load that comes and goes hits each alike); it prints the seconds per step, data loading included, and
each one's speed relative to 0 workers at 2 threads.

Examples:
  python bench/budget.py --minutes 2 --rounds 3                         # facades (../shared/data/facades) at 64 px, 2 threads
  python bench/budget.py --sweep --rounds 8
  python bench/budget.py --variants bare budget budget:every=1 --minutes 2
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, time, warnings
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CONFIGS, environment

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent/'shared'/'data'/'facades'
DEFAULT_VARIANTS = ('bare:workers=0', 'fit:workers=old', 'budget')
SWEEP = ((0, 2), (1, 2), (2, 2), (0, 1), (1, 1))   # (DataLoader workers, torch threads) of `--sweep`
KINDS = ('bare', 'fit', 'budget')

def parse_variant(spec:str, threads:int) -> dict:
    "`KIND[:key=value...]` as a dict: kind, workers (None: the library's default; 'old': fastai's), threads, every"
    kind, *opts = spec.split(':')
    if kind not in KINDS: raise ValueError(f"{spec!r}: unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    v = dict(kind=kind, workers=None, threads=threads, every=None)
    for o in opts:
        k, _, val = o.partition('=')
        if k not in ('workers', 'threads', 'every') or not val: raise ValueError(f"{spec!r}: unknown setting {o!r}; use workers=N|old, threads=N, every=K")
        v[k] = val if (k, val) == ('workers', 'old') else int(val)
    return v

def _dls(a, v:dict):
    "The DataLoaders of a run: the library's default number of workers unless the variant names one"
    from fastai.torch_core import defaults
    from spade_fastai.data import SegMapDataLoaders
    kw = {} if v['workers'] is None else dict(num_workers=min(16, defaults.cpus) if v['workers'] == 'old' else v['workers'])
    return SegMapDataLoaders.from_folder(a.data, size=a.size, bs=a.bs, seed=a.seed, device=a.device, **kw)

def _stepper(learn, lr:float):
    "A plain training step of `learn`'s model, `step(xs, y, gen)`: a generator step if `gen`, else a discriminator step"
    m, lf, t = learn.model, learn.loss_func, learn.gan_trainer
    learn.create_opt()
    learn.opt.set_hyper('lr', [lr * 0.5, lr * 2.])   # TTUR, as SPADELR sets it: G (and encoder) at lr/2, D at 2·lr
    t.before_fit()                                   # the trainer's networks; critic mode first, as fastai's switcher
    m.train()
    def step(xs, y, gen:bool):
        t.switch(gen)                                # freeze one network, unfreeze the other; model and loss in that mode
        xb = (*xs, y) if (not gen or m.encoder is not None) else tuple(xs)   # the critic (and the encoder) see the photo
        loss = lf(m(*xb), y)
        loss.backward()
        t.before_step()                              # no step for the frozen network
        learn.opt.step(); learn.opt.zero_grad()
        m._cache = {}
    return step

def bare_loop(learn, lr:float, deadline:float, starts:list) -> list:
    "Train `learn`'s model with a plain loop over `learn.dls.train` until `deadline`; the end time of each training batch (its start, once it is loaded, in `starts`)"
    step, gen, ends = _stepper(learn, lr), False, []
    while True:
        for *xs, y in learn.dls.train:
            starts.append(time.time())
            step(xs, y, gen)
            ends.append(time.time()); gen = not gen
            if ends[-1] >= deadline: return ends

def sweep(a, seg:int=10) -> dict:
    "Seconds per training step, data loading included, of the bare loop with each (workers, threads) of `SWEEP`, in one process: `seg` steps of each in turn, for `--rounds` rounds"
    import torch
    warnings.filterwarnings('ignore', category=FutureWarning)
    from fastai.torch_core import set_seed
    from spade_fastai.learner import spade_learner
    set_seed(a.seed)
    dls = {w: _dls(a, dict(workers=w)) for w in sorted({w for w, _ in SWEEP})}
    learn = spade_learner(dls[0], **CONFIGS['small']['learner'])
    step = _stepper(learn, a.lr)
    def endless(dl):                                 # epoch after epoch: a new iterator (and new worker processes) each
        while True: yield from dl
    its = {w: endless(d.train) for w, d in dls.items()}
    spent = {c: [0., 0] for c in SWEEP}
    load0 = os.getloadavg()
    for rnd in range(a.rounds):
        for c in SWEEP[rnd % len(SWEEP):] + SWEEP[:rnd % len(SWEEP)]:
            torch.set_num_threads(c[1])
            t0 = time.time()
            for i in range(seg):
                *xs, y = next(its[c[0]])
                step(xs, y, i % 2 == 1)
            spent[c][0] += time.time() - t0; spent[c][1] += seg
        print(f"round {rnd}: " + ', '.join(f"{w} workers {t} threads {s / n:.3f} s" for (w, t), (s, n) in spent.items()), flush=True)
    res = {f'workers={w}:threads={t}': round(s / n, 4) for (w, t), (s, n) in spent.items()}
    return dict(s_per_step=res, steps_each=seg * a.rounds, relative={k: round(res['workers=0:threads=2'] / v, 3) for k, v in res.items()},
                loadavg_start=[round(x, 2) for x in load0], loadavg_end=[round(x, 2) for x in os.getloadavg()])

def run_one(a, v:dict) -> dict:
    "One run of variant `v` in this process: the batches that finished within `--minutes`, and what the run did"
    import torch
    torch.set_num_threads(v['threads'])
    warnings.filterwarnings('ignore', category=FutureWarning)
    from fastai.torch_core import set_seed
    from fastai.callback.core import Callback, CancelFitException
    from spade_fastai.learner import spade_learner
    set_seed(a.seed)
    dls = _dls(a, v)
    learn = spade_learner(dls, **CONFIGS['small']['learner'])
    n_iter = len(dls.train)
    starts, ends = [], []
    class Start(Callback):  # the start of each training batch (loaded), before any callback
        order = -1000
        def before_batch(self):
            if self.training: starts.append(time.time())
    class Ends(Callback):   # the end of each training batch (its step done), before `TimeBudget` may end the epoch; `fit` stops at the deadline
        order = 99
        def after_batch(self):
            if not self.training: return
            ends.append(time.time())
            if self.stop and ends[-1] >= deadline: raise CancelFitException()
    load0 = os.getloadavg()
    t0 = time.time(); deadline = t0 + 60 * a.minutes
    if v['kind'] == 'bare': ends = bare_loop(learn, a.lr, deadline, starts)
    elif v['kind'] == 'fit':
        cbs = [Start(), Ends()]; cbs[1].stop = True
        if v['every'] and v['every'] > 1:
            from spade_fastai.cli_callbacks import ValidateEvery
            cbs.append(ValidateEvery(v['every']))
        learn.fit(100_000, a.lr, cbs=cbs)
    else:
        from spade_fastai.cli_callbacks import TimeBudget, ValidateEvery, PrintEpochs
        from spade_fastai.cli import _DEMO_VALIDATION
        cb = Ends(); cb.stop = False
        vkw = {**_DEMO_VALIDATION, **({'every': v['every']} if v['every'] else {})}
        with learn.no_bar(): learn.fit(100_000, a.lr, cbs=[TimeBudget(deadline), ValidateEvery(**vkw), PrintEpochs(), Start(), cb])
    t1 = time.time()
    done = [e for e in ends if e <= deadline]
    rec = getattr(learn, 'recorder', None)
    n_valid = sum(1 for r in rec.values if len(r) > 1 and r[1] == r[1]) if (v['kind'] != 'bare' and rec is not None) else 0
    steps = [e - s for s, e in zip(starts, ends) if e <= deadline]   # from the batch in hand to the step done: no loading, no validation
    return dict(variant=v, workers=dls.train.fake_l.num_workers, threads=torch.get_num_threads(), batches=len(done), iterations=len(done) / 2,
                batches_after_deadline=len(ends) - len(done), end_s=round(t1 - t0, 2), deadline_s=60 * a.minutes,
                epochs=round(len(done) / n_iter, 2), epochs_logged=len(rec.values) if v['kind'] != 'bare' else 0, validations=n_valid, n_iter=n_iter,
                first_batch_s=round(ends[0] - t0, 2) if ends else None, step_s_median=round(statistics.median(steps), 4) if steps else None,
                step_share=round(sum(steps) / (60 * a.minutes), 4), loadavg_start=[round(x, 2) for x in load0],
                loadavg_end=[round(x, 2) for x in os.getloadavg()])

def child(a, spec:str) -> dict:
    "Run variant `spec` in a fresh process; its result"
    cmd = [sys.executable, __file__, '--child', spec, '--data', str(a.data), '--size', str(a.size), '--bs', str(a.bs), '--minutes', str(a.minutes),
           '--lr', str(a.lr), '--threads', str(a.threads), '--seed', str(a.seed), '--device', a.device]
    r = subprocess.run(cmd, capture_output=True, text=True)
    lines = [l[l.index('{"variant"'):] for l in r.stdout.splitlines() if '{"variant"' in l]
    if r.returncode or not lines: raise RuntimeError(f"{spec} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    res = json.loads(lines[-1])
    res['log'] = [l for l in r.stdout.splitlines() if l.strip() and '{"variant"' not in l and '\r' not in l][-40:]
    return res

def summary(rows:list, specs:list) -> dict:
    "Median iterations (and share of the time in training steps) per variant, and the median over rounds of each variant's iterations over the first variant's in the same round"
    by = {s: [r for r in rows if r['spec'] == s] for s in specs}
    med = {s: statistics.median(r['iterations'] for r in rs) for s, rs in by.items()}
    share = {s: statistics.median(r['step_share'] for r in rs) for s, rs in by.items()}
    ratios, share_ratios = {}, {}
    for s in specs[1:]:
        pairs = [(r, b) for r in by[s] for b in by[specs[0]] if b['round'] == r['round'] and b['iterations']]
        per_round = [r['iterations'] / b['iterations'] for r, b in pairs]
        ratios[s] = dict(median=round(statistics.median(per_round), 3), per_round=[round(x, 3) for x in per_round])
        per_round = [r['step_share'] / b['step_share'] for r, b in pairs]
        share_ratios[s] = dict(median=round(statistics.median(per_round), 3), per_round=[round(x, 3) for x in per_round])
    return dict(median_iterations=med, median_step_share=share, ratio_to_first=ratios, step_share_ratio_to_first=share_ratios)

def parse_args(argv=None):
    p = argparse.ArgumentParser(prog='bench/budget.py', description=__doc__.split('\n\n')[0], epilog='\n\n'.join(__doc__.split('\n\n')[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', type=Path, default=DEFAULT_DATA, metavar='PATH', help=f'dataset folder in the custom layout (default: {DEFAULT_DATA})')
    p.add_argument('--size', type=int, default=64, help='image size in pixels (default: 64)')
    p.add_argument('--bs', type=int, default=CONFIGS['small']['bs'], help=f"batch size (default: {CONFIGS['small']['bs']})")
    p.add_argument('--minutes', type=float, default=1., help='time of each run in minutes (default: 1)')
    p.add_argument('--rounds', type=int, default=3, help='rounds of all the variants (default: 3)')
    p.add_argument('--variants', nargs='+', default=None, metavar='SPEC', help=f"variants, the first the reference of the ratios (default: {' '.join(DEFAULT_VARIANTS)})")
    p.add_argument('--sweep', action='store_true', help='measure the (workers, threads) grid instead: ' + ' '.join(f'{w},{t}' for w, t in SWEEP))
    p.add_argument('--lr', type=float, default=2e-3, help="base learning rate, as spade-fastai demo's (default: 2e-3)")
    p.add_argument('--threads', type=int, default=2, help='torch CPU threads, unless a variant says (default: 2)')
    p.add_argument('--seed', type=int, default=0, help='seed of the split and the weights (default: 0)')
    p.add_argument('--device', choices=['cpu', 'cuda'], default=None, help='where to train (default: cuda if a GPU is visible, else cpu)')
    p.add_argument('--out', type=Path, default=None, metavar='FILE', help='append every run as a JSON line to FILE')
    p.add_argument('--child', default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.device is None:
        import torch
        a.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    specs = list(a.variants or DEFAULT_VARIANTS)
    for s in specs: parse_variant(s, a.threads)   # fail now on a bad spec
    a.specs = specs
    return a

def main(argv=None) -> int:
    a = parse_args(argv)
    if a.child:
        print('\n' + json.dumps(run_one(a, parse_variant(a.child, a.threads))), flush=True)   # on a line of its own, after any progress bar
        return 0
    cmd = ' '.join(['python', 'bench/budget.py'] + (sys.argv[1:] if argv is None else list(argv)))
    if a.sweep:
        import torch
        torch.set_num_threads(a.threads)
        print(f"# {cmd}\n# (workers, threads) grid, {a.rounds} rounds of 10 steps each, on {a.device}, data {a.data} at {a.size} px, bs {a.bs}", flush=True)
        res = dict(sweep(a), cmd=cmd, date=datetime.now(timezone.utc).isoformat(timespec='seconds'), **environment(a.device))
        print(json.dumps(res), flush=True)
        if a.out:
            with open(a.out, 'a') as f: f.write(json.dumps(res) + '\n')
        return 0
    print(f"# {cmd}\n# {len(a.specs)} variants x {a.rounds} rounds of {a.minutes:g} min on {a.device}, data {a.data} at {a.size} px, bs {a.bs}; "
          f"load {os.getloadavg()[0]:.2f} at the start", flush=True)
    rows = []
    for rnd in range(a.rounds):
        order = a.specs[rnd % len(a.specs):] + a.specs[:rnd % len(a.specs)]   # rotated, so no variant always runs first
        for spec in order:
            r = dict(child(a, spec), spec=spec, round=rnd)
            rows.append(r)
            print(f"round {rnd} {spec:28s} {r['iterations']:7.1f} iterations  {r['epochs']} epochs, {r['validations']} validations, "
                  f"workers {r['workers']}, threads {r['threads']}, ended at {r['end_s']:.1f}/{r['deadline_s']:.0f} s, {r['step_s_median']} s a step, "
                  f"{100 * r['step_share']:.1f} % of the time in steps, load {r['loadavg_start'][0]:.2f}->{r['loadavg_end'][0]:.2f}", flush=True)
            if a.out:
                with open(a.out, 'a') as f: f.write(json.dumps(dict(r, cmd=cmd, date=datetime.now(timezone.utc).isoformat(timespec='seconds'), **environment(a.device))) + '\n')
    s = summary(rows, a.specs)
    print('\nmedian iterations per variant (and share of the time in training steps):')
    for spec, m in s['median_iterations'].items(): print(f"  {spec:28s} {m:7.1f}   {100 * s['median_step_share'][spec]:.1f} %")
    print(f'ratio to {a.specs[0]} (median over rounds, per round):')
    for spec, r in s['ratio_to_first'].items(): print(f"  {spec:28s} {r['median']:.3f}  {r['per_round']}")
    print(f'share of the time in training steps over {a.specs[0]}\'s (the ratio of iterations at the same speed; median over rounds, per round):')
    for spec, r in s['step_share_ratio_to_first'].items(): print(f"  {spec:28s} {r['median']:.3f}  {r['per_round']}")
    print(f"# load {os.getloadavg()[0]:.2f} at the end", flush=True)
    return 0

if __name__ == '__main__': sys.exit(main())
