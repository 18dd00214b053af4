"""Offline HTML preview of the docs, for machines where Quarto (and so `nbdev-docs`) cannot be installed.

Runs nbdev's notebook processing (`nbdev-proc-nbs` writes `_proc/`: hidden cells dropped, a rendered `show_doc`
for every exported symbol), then renders each processed notebook from its saved outputs (nothing is executed)
with nbconvert to `_preview/`, under the names Quarto publishes (`nbs/00_core.ipynb` → `core.html`,
`nbs/tutorials/01_quickstart.ipynb` → `tutorials/quickstart.html`), with a sidebar linking the home page, every
tutorial and every API page. Images are embedded as data URIs, so the preview works from `file://`.

    python tools/preview_docs.py [--out _preview]    # then open _preview/index.html

A notebook that nbdev cannot process gets a page with nbdev's error, and the command exits 1 (`nbdev-docs`
would fail on it too). Processed notebooks are cached in `_proc/` (by nbdev) and so are nbdev's errors (until the
notebook or the library changes): a second run takes seconds. `--force` processes everything again.
"""
import argparse, copy, json, os, re, shutil, subprocess, sys, tempfile, time, warnings
from collections import namedtuple
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from html import escape
import jinja2, nbformat, yaml
from nbconvert import HTMLExporter
from nbconvert.filters import markdown2html
from nbdev import serve_drv
from nbdev.config import get_config, nbpath2html
from nbdev.processors import FilterDefaults

ROOT = Path(__file__).resolve().parent.parent
CFG = get_config(ROOT)
NBS, LIB, PROC = CFG.nbs_path, CFG.lib_path, ROOT/'_proc'
ERRORS = PROC/'.preview-errors.json'  # nbdev's errors from the last run, reused while notebook and library are unchanged
SITE = LIB.name  # shown atop the sidebar
MARK = '.nbdev-preview'  # marks an output folder this script made, and so may wipe

def notebooks(nbs:Path=NBS) -> list:
    "(section, notebook path relative to `nbs`) of the home page, each tutorial and each API page, in nav order"
    return ([('Home', Path('index.ipynb'))] +
            [('Tutorials', p.relative_to(nbs)) for p in sorted((nbs/'tutorials').glob('[!_.]*.ipynb'))] +
            [('API', p.relative_to(nbs)) for p in sorted(nbs.glob('[0-9]*.ipynb'))])

def front(nb) -> dict:
    "The Quarto front matter nbdev writes to the first (raw) cell of a processed notebook"
    m = nb.cells and nb.cells[0].cell_type == 'raw' and re.fullmatch(r'---\n(.*?)\n---', nb.cells[0].source.strip(), re.S)
    return yaml.safe_load(m[1]) or {} if m else {}

def _title(rel:Path) -> str:
    "Title of an unprocessed notebook: its first `# ` heading, as nbdev's front matter takes it"
    try: cells = nbformat.read(NBS/rel, as_version=4).cells
    except Exception: cells = []
    heads = (m[1] for c in cells if c.cell_type == 'markdown' for m in [re.match(r'#\s+(.+)', c.source)] if m)
    return next(heads, rel.stem)

Page = namedtuple('Page', 'section rel nb title desc path')
Page.__doc__ = "A page: section, notebook (relative to nbs/), processed notebook (None if nbdev failed), title, description, html path"

def site_pages(failed=()) -> list:
    "The `Page`s of the site in nav order, from `_proc/`; the notebooks in `failed` have no processed notebook"
    def page(sec, rel):
        nb = None if rel in failed or not (PROC/rel).exists() else nbformat.read(PROC/rel, as_version=4)
        fm = front(nb) if nb else {}  # Quarto publishes to `output-file`; nbdev sets it to the name without numeric prefix
        path = rel.parent/fm['output-file'] if fm.get('output-file') else nbpath2html(rel)
        return Page(sec, rel, nb, fm.get('title') or _title(rel), fm.get('description', ''), path)
    return [page(*o) for o in notebooks()]

# --- nbdev processing ---

def _fresh(rel:Path) -> bool: return (PROC/rel).exists() and (NBS/rel).stat().st_mtime <= (PROC/rel).stat().st_mtime

def _worker_init(): os.chdir(ROOT); warnings.simplefilter('ignore')  # as nbdev's workers, minus the warnings

def _stamp(rel:Path) -> list: return [(NBS/rel).stat().st_mtime, max(f.stat().st_mtime for f in LIB.glob('*.py'))]

def process(rels:list, force:bool=False) -> dict:
    "Run `nbdev-proc-nbs`, then process alone each notebook it left stale (it stops at the first failure). {rel: error}"
    old = json.loads(ERRORS.read_text()) if ERRORS.exists() and not force else {}
    known = {rel: old[k]['error'] for rel in rels if (k := rel.as_posix()) in old and old[k]['stamp'] == _stamp(rel)}
    skip = ''.join(f'|{re.escape(rel.name)}$' for rel in known)  # they would only fail again, slowly
    # nbdev tries to install Quarto (with sudo) when it is missing: a no-op `quarto` last on PATH skips that.
    # IN_TEST=1, as under `nbdev-test`, keeps it from rewriting the package's `_modidx.py`.
    with tempfile.TemporaryDirectory() as d:
        (Path(d)/'quarto').write_text('#!/bin/sh\nexit 1\n'); (Path(d)/'quarto').chmod(0o755)
        env = {**os.environ, 'PATH': os.environ['PATH'] + os.pathsep + d, 'IN_TEST': '1'}
        cmd = [Path(sys.executable).parent/'nbdev-proc-nbs', '--skip-file-re', f'^[_.]{skip}'] + ['--force']*force
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    stale = [rel for rel in rels if rel not in known and not _fresh(rel)] if PROC.exists() else []
    for rel in stale: (PROC/rel).parent.mkdir(parents=True, exist_ok=True)
    # nbdev's driver and processors, in a pool that, unlike nbdev's, goes on after a failure
    with ProcessPoolExecutor(2, mp_context=get_context('spawn'), initializer=_worker_init) as ex:
        futs = {rel: ex.submit(serve_drv.main, (NBS/rel, PROC/rel, FilterDefaults)) for rel in stale}
    new = {rel: f'{type(e).__name__}: {e}' for rel, f in futs.items() if (e := f.exception())}
    if r.returncode and not new: sys.exit(f'nbdev-proc-nbs failed:\n{r.stderr[-3000:]}')
    ERRORS.write_text(json.dumps({rel.as_posix(): dict(stamp=_stamp(rel), error=e) for rel, e in new.items()} |
                                 {rel.as_posix(): old[rel.as_posix()] for rel in known}))
    return new | {rel: f'{e}\n\n(from an earlier run: neither the notebook nor {LIB.name}/*.py changed since; --force retries)'
                  for rel, e in known.items()}

# --- rendering ---

TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{% block html_head_js %}{% endblock %}{% block html_head_js_mathjax %}{% endblock %}{% block html_head_js_mermaidjs %}{% endblock %}
{% block extra_css %}<style>{{ resources.preview.css }}</style>{% endblock %}
{% block body_header %}<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<nav class="sidebar">{{ resources.preview.nav }}</nav>
<main><header><h1 class="title">{{ resources.preview.title | e }}</h1>{{ resources.preview.description }}</header>
{% endblock %}"""

CSS = """body.jp-Notebook {margin:0; padding:0; display:flex; align-items:flex-start}
nav.sidebar {position:sticky; top:0; height:100vh; overflow:auto; box-sizing:border-box; flex:0 0 15rem; padding:1rem;
  border-right:1px solid #dee2e6; background:#f8f9fa; font:14px/1.4 system-ui, sans-serif}
nav.sidebar .site {font-size:1.1rem; font-weight:600; margin-bottom:.5rem}
nav.sidebar h2 {font-size:.75rem; text-transform:uppercase; letter-spacing:.05em; color:#6c757d; margin:1rem 0 .25rem}
nav.sidebar a {display:block; padding:.15rem .5rem; color:#343a40; text-decoration:none; border-radius:4px}
nav.sidebar a:hover {background:#e9ecef} nav.sidebar a.active {background:#2780e3; color:#fff}
main {flex:1; min-width:0; max-width:62rem; padding:1rem 2rem 4rem}
main header {font-family:system-ui, sans-serif} header h1.title {margin-bottom:.25rem} header .description {color:#6c757d; font-size:1.1rem; margin-bottom:1.5rem}
.jp-RenderedMarkdown div.highlight {margin-bottom:1em}"""

def nav_html(entries:list, here:Path) -> str:
    "Sidebar: the site name, then a heading per section and a link per page of `entries` (section, title, path)"
    href = lambda p: Path(os.path.relpath(p, here.parent)).as_posix()
    out, last = [f'<div class="site"><a href="{href(Path("index.html"))}">{SITE}</a></div>'], None
    for sec, title, p in entries:
        if sec != last: out.append(f'<h2>{sec}</h2>'); last = sec
        out.append(f'<a href="{href(p)}"{" class=active" if p == here else ""}>{escape(title)}</a>')
    return '\n'.join(out)

def _opts(cell) -> dict:
    "Pop the leading `#| key: value` Quarto options nbdev leaves in a processed cell"
    lines, opts = cell.source.splitlines(), {}
    while lines and lines[0].startswith('#|'):
        k, _, v = lines.pop(0)[2:].partition(':')
        opts[k.strip()] = v.strip().lower()
    cell.source = '\n'.join(lines)
    return opts

def shown(cell) -> list:
    "The cells Quarto would show for `cell`: `include`, `echo`, `eval` and `output` (incl. `asis`) applied"
    if cell.cell_type == 'markdown': cell.source = re.sub(r'(?m)^:::.*\n?', '', cell.source)  # callout fences: render plainly
    cell.metadata = {}  # execnb's timings there are not valid nbformat
    if cell.cell_type != 'code': return [cell]
    o = _opts(cell)
    if o.get('include') == 'false': return []
    if 'false' in (o.get('output'), o.get('eval')): cell.outputs = []
    asis = []
    if o.get('output') == 'asis':
        asis = [nbformat.v4.new_markdown_cell(x.data['text/markdown']) for x in cell.outputs if 'text/markdown' in x.get('data', {})]
        cell.outputs = [x for x in cell.outputs if 'text/markdown' not in x.get('data', {})]
    if o.get('echo') == 'false': cell.transient = {'remove_source': True}
    return ([cell] if cell.outputs or o.get('echo') != 'false' else []) + asis

def render(nb, title:str, desc:str, nav:str) -> str:
    "HTML page of processed notebook `nb` (saved outputs, nothing executed)"
    nb = copy.deepcopy(nb)
    nb.cells = [c for cell in nb.cells if cell.cell_type != 'raw' for c in shown(cell)]
    nb.metadata['title'] = f'{title} – {SITE}'
    ex = HTMLExporter(template_name='lab', extra_loaders=[jinja2.DictLoader({'preview.html.j2': TEMPLATE})],
                      template_file='preview.html.j2', exclude_input_prompt=True, exclude_output_prompt=True)
    desc = f'<div class="description">{markdown2html(desc)}</div>' if desc else ''
    return ex.from_notebook_node(nb, resources=dict(preview=dict(css=CSS, nav=nav, title=title, description=desc)))[0]

def error_nb(rel:Path, err:str):
    "Stand-in notebook for a page nbdev could not process"
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        f'**`nbdev-proc-nbs` failed on `nbs/{rel.as_posix()}`**, so this page is missing (`nbdev-docs` fails too):\n\n'
        f'```\n{err}\n```')])

def build(out:Path, force:bool=False) -> tuple:
    "Process the notebooks (all again if `force`), write the preview to `out`: (`Page`s, {notebook: nbdev error})"
    if out.exists() and any(out.iterdir()) and not (out/MARK).exists(): sys.exit(f'{out} exists and is not a preview: not overwriting it')
    errs = process([rel for _, rel in notebooks()], force)
    ps = site_pages(errs)
    shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True); (out/MARK).touch()
    for f in PROC.rglob('*'):  # files the notebooks may link to (images...): all but notebooks and Quarto config
        if f.is_file() and f.suffix not in ('.ipynb', '.yml') and not f.name.startswith('.'):
            (out/f.relative_to(PROC)).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, out/f.relative_to(PROC))
    entries = [(p.section, p.title, p.path) for p in ps]
    for p in ps:
        (out/p.path).parent.mkdir(parents=True, exist_ok=True)
        html = render(p.nb or error_nb(p.rel, errs[p.rel]), p.title, p.desc, nav_html(entries, p.path))
        (out/p.path).write_text(html, encoding='utf-8')
    return ps, errs

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out', default='_preview', help='output folder, relative to the repository root (default: _preview)')
    p.add_argument('--force', action='store_true', help='process every notebook again, ignoring the caches in _proc/')
    a = p.parse_args()
    out, t = ROOT/a.out, time.time()
    ps, errs = build(out, a.force)
    print(f'wrote {len(ps)} pages to {out} in {time.time()-t:.0f}s: open {out/"index.html"}, or `python -m http.server -d {out}`')
    if errs: sys.exit('nbdev-proc-nbs failed on ' + '\n\n'.join(f'nbs/{rel.as_posix()}:\n{e}' for rel, e in errs.items()))

if __name__ == '__main__': main()
