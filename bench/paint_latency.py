"""The painter's latency: time from the end of a stroke to the new image on the page, in headless Chromium.

Each configuration's model (random weights: the time does not depend on them; or `--model FILE`) is exported and
served by `spade-fastai paint` in a process of its own, as a user runs it; `PainterPage` (spade_fastai.testing) paints
strokes in the page like a user. Per stroke it reads the page's own measurement (`data-latency`: from the mouse-up to
the new image loaded, `performance.now()`) and the server's time to make and encode the image (`data-model-ms`).
It also drags one slow stroke of about three seconds and counts the images shown meanwhile (the live rate).

  python bench/paint_latency.py                                     # small (the demo's 64 px model), small256, ade20k256
  python bench/paint_latency.py --config small --strokes 40
  python bench/paint_latency.py --model spade_demo/spade.pkl --screenshot nbs/images/painter.png   # the docs' picture

Needs Chromium (Debian: apt-get install -y chromium) and playwright (in the [dev] extra).
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _common import CONFIGS, SHARED_DATA

def serve(model:Path, labels:list, out:Path, threads:int):
    "`spade-fastai paint` in a process of its own: (process, address)"
    proc = subprocess.Popen([sys.executable, '-m', 'spade_fastai.cli', 'paint', '--model', str(model), '--labels', *map(str, labels), '--out', str(out), '--port', '0', '--threads', str(threads)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if ' at http://127.0.0.1:' in line: return proc, line.split(' at ')[1].split()[0]
    raise RuntimeError(f"spade-fastai paint ended without an address (exit code {proc.wait()})")

def measure(page, url:str, strokes:int, seed:int=0) -> dict:
    "Strokes of random classes at random places, each waited for; then one slow stroke for the live rate"
    import random
    from spade_fastai.testing import PainterPage
    rnd = random.Random(seed)
    pp = PainterPage(page, url)
    classes = page.eval_on_selector_all('[data-role=class]', 'bs => bs.map(b => b.dataset.name)')
    lat, model_ms = [], []
    for i in range(strokes + 1):   # the first is a warm-up
        pp.choose(rnd.choice(classes))
        x0, y0 = rnd.uniform(0.1, 0.5) * pp.w, rnd.uniform(0.1, 0.9) * pp.h
        page.evaluate("delete document.querySelector('[data-role=painter]').dataset.latency")
        pp.stroke([(x0, y0), (x0 + 0.3 * pp.w, y0 + rnd.uniform(-0.1, 0.1) * pp.h)], steps=6)
        page.wait_for_function("document.querySelector('[data-role=painter]').dataset.latency !== undefined")
        pp.wait()
        if i: lat.append(float(pp.data('latency'))); model_ms.append(float(pp.data('model-ms')))
    # live: one stroke of ~3 s; images shown while the button is down
    n0, m = int(pp.data('renders')), page.mouse
    m.move(*pp._xy((0.1 * pp.w, 0.5 * pp.h))); m.down()
    t0 = time.perf_counter()
    for k in range(60):
        m.move(*pp._xy(((0.1 + 0.8 * k / 59) * pp.w, (0.5 + 0.3 * ((k % 20) / 19 - 0.5)) * pp.h)))
        time.sleep(0.05)
    dur = time.perf_counter() - t0
    live = int(pp.data('renders')) - n0
    m.up()
    return dict(latency_ms=lat, model_ms=model_ms, live_images=live, live_s=round(dur, 2))

def run(name:str, args, tmp:Path) -> dict:
    import torch, numpy as np
    from fastai.torch_core import set_seed
    from fastai.learner import load_learner
    from spade_fastai.testing import in_browser
    from _common import synthetic_dls, build_learner, environment
    set_seed(0)
    labels = 'real' if SHARED_DATA.is_dir() else 'blobs'
    dls = synthetic_dls(name, 1, tmp/name/'data', labels=labels)
    if args.model:
        model = Path(args.model)
        learn = load_learner(model, cpu=True)
        G = learn.model.generator
    else:
        learn = build_learner(name, dls)
        model = tmp/name/'spade.pkl'
        learn.export(model)
        G = learn.model.generator
    first = sorted((tmp/name/'data'/'labels').glob('*.png'))[:1] if not args.model else sorted((model.parent/'data'/'labels').glob('*.png'))[:1]
    if args.model and not first: first = sorted((tmp/name/'data'/'labels').glob('*.png'))[:1]
    rows = []
    for threads in args.threads:
        proc, url = serve(model, first, tmp/name/f'paintings{threads}', threads)
        try:
            res = in_browser(lambda page: measure(page, url, args.strokes), viewport=(1200, 800), timeout=300)
            if args.screenshot and threads == args.threads[-1]: in_browser(lambda page: screenshot(page, url, Path(args.screenshot)), viewport=(1120, 640), timeout=300)
        finally:
            proc.terminate(); proc.wait(30)
        lat, mm = res['latency_ms'], res['model_ms']
        q = lambda v, p: float(np.percentile(v, p))
        rows.append(dict(bench='paint_latency', config=name, model=str(args.model) if args.model else 'random weights', size=list(G.out_size),
                    classes=learn.spec.n_classes, params_G=sum(p.numel() for p in G.parameters()), use_vae=bool(G.use_vae), label_maps=labels,
                    strokes=len(lat), latency_ms_median=round(statistics.median(lat), 1), latency_ms_p90=round(q(lat, 90), 1),
                    model_ms_median=round(statistics.median(mm), 1), live_images_per_s=round(res['live_images'] / res['live_s'], 2),
                    latency_ms=[round(v, 1) for v in lat], model_ms=[round(v, 1) for v in mm], server_threads=threads,
                    **environment('cpu'), loadavg=[round(x, 2) for x in os.getloadavg()], date=datetime.now(timezone.utc).isoformat(timespec='seconds')))
    return rows

def screenshot(page, url:str, fn:Path):
    "The docs' picture: a mountain and a lake painted into the first example, then the page"
    from spade_fastai.testing import PainterPage
    pp = PainterPage(page, url)
    h, w = pp.h, pp.w
    if page.locator('[data-role=example]').count():   # the painter continues the server's current painting: back to the first example
        page.select_option('[data-role=example]', '0'); pp.wait()
    pp.choose('mountain'); pp.size(max(2, w // 8))
    pp.stroke([(0.05 * w, 0.45 * h), (0.3 * w, 0.3 * h), (0.55 * w, 0.45 * h)]); pp.wait()
    pp.choose('water'); pp.size(max(2, w // 10))
    pp.stroke([(0.1 * w, 0.7 * h), (0.45 * w, 0.72 * h), (0.6 * w, 0.68 * h)]); pp.wait()
    pp.choose('water')
    page.mouse.move(0, 0)
    fn.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(fn), full_page=False)
    print(f"screenshot: {fn}")

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', nargs='+', default=['small', 'small256', 'ade20k256'], choices=list(CONFIGS), metavar='NAME',
                   help='configurations: ' + '; '.join(f'{k}: {v["doc"]}' for k, v in CONFIGS.items()) + ' (default: small small256 ade20k256)')
    p.add_argument('--model', help="an exported model to measure instead of the configuration's random-weight one (one --config then)")
    p.add_argument('--strokes', type=int, default=12, help='timed strokes per configuration and thread count (default 12, after one warm-up)')
    p.add_argument('--threads', type=int, nargs='+', default=[1, 2], help="the painter's torch threads, each in turn (default: 1 2)")
    p.add_argument('--screenshot', metavar='PNG', help="also write a screenshot of the page, after painting a mountain and a lake")
    p.add_argument('--out', metavar='JSONL', help='append the results as JSON lines')
    args = p.parse_args(argv)
    if args.model and len(args.config) > 1: p.error('--model measures one model: pass one --config (its name labels the row)')
    rows = []
    with tempfile.TemporaryDirectory(prefix='spade_paint_') as tmp:
        for name in args.config:
            for r in run(name, args, Path(tmp)):
                rows.append(r)
                print(json.dumps(r), flush=True)
                if args.out:
                    with open(args.out, 'a') as f: f.write(json.dumps(r) + '\n')
    print(f"\n{'config':<11} {'size':>9} {'G params':>9} {'threads':>7} {'stroke→image ms (median, p90)':>30} {'model ms':>9} {'live img/s':>10}")
    for r in rows:
        print(f"{r['config']:<11} {'x'.join(map(str, r['size'][::-1])):>9} {r['params_G'] / 1e6:>8.1f}M {r['server_threads']:>7} {r['latency_ms_median']:>20.0f}, {r['latency_ms_p90']:>7.0f} {r['model_ms_median']:>9.0f} {r['live_images_per_s']:>10.1f}")
    return 0

if __name__ == '__main__': sys.exit(main())
