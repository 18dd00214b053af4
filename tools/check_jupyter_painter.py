"""Check `learn.paint()` in a real JupyterLab, in headless Chromium: the widget's front end, its messages and the kernel.

The painter's browser test (nbs/15_paint.ipynb) drives the web page, which runs the same `painter.js` as the widget;
this script checks the other host, anywidget in JupyterLab, which CI does not install. It writes a notebook that
builds a tiny learner and shows `learn.paint()`, starts JupyterLab on a free port, runs the cell in Chromium, waits
for the painter's first image, paints a stroke of 'water', waits for the new image, clicks Save, then runs a second
cell that reads the painting back in the kernel (`p.labels`), checks that keys pressed in the painter are its shortcuts
(not JupyterLab's: 'b' must not insert a cell), and saves two screenshots. Exits 1 on any failure.

    pip install jupyterlab        # not a dependency of the project
    python tools/check_jupyter_painter.py [--out DIR]
"""
import argparse, json, signal, socket, subprocess, sys, tempfile, time
from pathlib import Path

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default=None, help='folder for the notebook, the log, the paintings and the screenshots (default: a temporary one)')
    args = p.parse_args(argv)
    from spade_fastai.testing import in_browser
    d = Path(args.out or tempfile.mkdtemp(prefix='spade_jupyter_'))
    d.mkdir(parents=True, exist_ok=True)
    src = ["from spade_fastai.all import *\n", "path = make_scenes(n=16, size=32)\n",
           "dls = SegMapDataLoaders.from_folder(path, size=32, bs=4, seed=0, num_workers=0)\n",
           "learn = spade_learner(dls, ngf=4, ndf=8, n_layers_D=2, hidden=16, lambda_vgg=0, use_vae=True, z_dim=16)\n",
           f"p = learn.paint(out={str(d/'paintings')!r})\n", "p"]
    cell = lambda i, s: dict(cell_type='code', id=f'c{i}', metadata={}, source=s, outputs=[], execution_count=None)
    nb = dict(cells=[cell(0, src), cell(1, ["int((p.labels == learn.spec.codes.index('water')).sum())"])],
              metadata={"kernelspec": {"display_name": "python3", "language": "python", "name": "python3"}}, nbformat=4, nbformat_minor=5)
    (d/'paint.ipynb').write_text(json.dumps(nb))
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    lab = subprocess.Popen([sys.executable, '-m', 'jupyter', 'lab', '--no-browser', f'--port={port}', '--ip=127.0.0.1', '--IdentityProvider.token=',
                            '--ServerApp.password=', f'--ServerApp.root_dir={d}', '--allow-root'], stdout=open(d/'lab.log', 'w'), stderr=subprocess.STDOUT)
    painter = "document.querySelector('[data-role=painter]')"
    def run(page):
        for _ in range(120):   # JupyterLab's start
            try: page.goto(f'http://127.0.0.1:{port}/lab/tree/paint.ipynb'); break
            except Exception: time.sleep(1)
        page.wait_for_selector('.jp-Notebook')
        time.sleep(3)
        page.click('.jp-Cell >> nth=0'); page.keyboard.press('Shift+Enter')
        page.wait_for_function(f"(() => {{ const e = {painter}; return e && Number(e.dataset.renders) >= 1; }})()")
        page.screenshot(path=str(d/'jupyter_painter_0.png'))
        page.click('[data-role=class][data-name=water]')
        box = page.locator('[data-role=canvas]').bounding_box()
        page.mouse.move(box['x'] + 0.2 * box['width'], box['y'] + 0.3 * box['height']); page.mouse.down()
        page.mouse.move(box['x'] + 0.8 * box['width'], box['y'] + 0.3 * box['height'], steps=10); page.mouse.up()
        page.wait_for_function(f"{painter}.dataset.latency !== undefined")
        status, renders = page.inner_text('[data-role=status]'), int(page.get_attribute('[data-role=painter]', 'data-renders'))
        page.click('[data-role=save]')
        page.wait_for_function(f"{painter}.dataset.saved !== undefined")
        n_cells = page.locator('.jp-Cell').count()
        page.click('[data-role=canvas]', position=dict(x=5, y=5)); page.keyboard.press('f')   # the painter's shortcut, not JupyterLab's
        tool = page.get_attribute('[data-role=tool].sp-on', 'data-tool')
        page.keyboard.press('b'); page.keyboard.press('a'); time.sleep(1)                   # JupyterLab: insert a cell below/above, in command mode
        keys_ok = tool == 'fill' and page.locator('.jp-Cell').count() == n_cells
        page.click('.jp-Cell >> nth=1'); page.keyboard.press('Shift+Enter')
        page.wait_for_selector('.jp-Cell >> nth=1 >> .jp-OutputArea-output')
        kernel = page.inner_text('.jp-Cell >> nth=1 >> .jp-OutputArea-output')
        page.screenshot(path=str(d/'jupyter_painter_1.png'))
        return status, renders, page.get_attribute('[data-role=painter]', 'data-saved'), kernel, keys_ok
    try: status, renders, saved, kernel, keys_ok = in_browser(run, viewport=(1400, 1000), timeout=180)
    finally:
        lab.send_signal(signal.SIGINT); time.sleep(1); lab.send_signal(signal.SIGINT)
        try: lab.wait(30)
        except subprocess.TimeoutExpired: lab.kill()
    print(f"after the stroke: {status}\nsaved: {saved}\nwater pixels in the kernel's p.labels: {kernel}\nscreenshots: {d/'jupyter_painter_0.png'}, {d/'jupyter_painter_1.png'}")
    print(f"keys go to the painter, not to JupyterLab: {keys_ok}")
    ok = renders >= 2 and Path(saved).is_file() and int(kernel) > 0 and keys_ok
    print('OK' if ok else 'FAILED')
    return 0 if ok else 1

if __name__ == '__main__': sys.exit(main())
