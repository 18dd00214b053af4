"""Where the time goes: torch.profiler tables of one configuration's synthesis, discriminator step and generator step, fast path or dense reference.

Builds the configuration of `bench/speed.py` (`_common.CONFIGS`) on real label maps, runs one warm-up of each, then profiles
one synthesis call (`learn.synthesize`, a batch of label maps), one discriminator step and one generator step of
`learn.fit` (fastai's switcher alternates them), and prints for each the ops with the most self CPU time. Use it to see what
limits a speed-up: after the fast path, the generator's residual convolutions, the discriminators and the VGG19 loss remain.

Examples:
  python bench/op_profile.py coco256                   # the fast path
  python bench/op_profile.py coco256 --mode reference  # the dense reference
"""
from __future__ import annotations
import argparse, sys, tempfile, warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CONFIGS, synthetic_dls, build_learner

def main(argv=None):
    p = argparse.ArgumentParser(prog='bench/op_profile.py', description=__doc__.split('\n\n')[0], epilog='\n\n'.join(__doc__.split('\n\n')[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', choices=list(CONFIGS))
    p.add_argument('--mode', choices=['fast', 'reference', 'clade'], default='fast')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--top', type=int, default=15, help='ops per table')
    a = p.parse_args(argv)
    import torch
    from torch.profiler import profile, ProfilerActivity
    from fastai.callback.core import Callback, CancelFitException
    torch.set_num_threads(a.threads)
    warnings.filterwarnings('ignore', category=FutureWarning)
    with tempfile.TemporaryDirectory() as tmp:
        dls = synthetic_dls(a.config, 4, Path(tmp)/'data', labels='real')
        learn = build_learner(a.config, dls, **(dict(modulation='clade') if a.mode == 'clade' else {}))
        learn.model.generator.fast = a.mode != 'reference'
        b = dls.train.one_batch()
        kw = dict(instance=list(b[1])) if learn.model.generator.use_instance else {}
        def show(title, prof):
            total = sum(e.self_cpu_time_total for e in prof.key_averages()) / 1e6
            print(f"\n## {a.config} {a.mode}: {title} ({total:.2f} s of CPU time in ops)")
            print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=a.top, max_name_column_width=40))
        learn.synthesize(list(b[0]), as_tensor=True, **kw)
        with profile(activities=[ProfilerActivity.CPU]) as prof: learn.synthesize(list(b[0]), as_tensor=True, **kw)
        show(f'synthesis of {len(b[0])} image(s)', prof)
        class Prof(Callback):   # batches 0, 1 (D, G) warm up; 2 (D) and 3 (G) are profiled
            order = -1000
            def before_batch(self):
                self.n = getattr(self, 'n', -1) + 1
                if self.n >= 2: self.prof = profile(activities=[ProfilerActivity.CPU]); self.prof.__enter__()
            def after_batch(self):
                if self.n < 2: return
                self.prof.__exit__(None, None, None)
                show('discriminator step' if self.n == 2 else 'generator step', self.prof)
                if self.n == 3: raise CancelFitException()
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 2e-4, cbs=Prof())

if __name__ == '__main__': main()
