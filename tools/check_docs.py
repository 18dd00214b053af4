"""Check the offline docs preview in headless Chromium (Debian's `chromium`: `apt-get install -y chromium`).

Builds the preview with `tools/preview_docs.py` (or takes `--site`), serves it on a localhost port and loads every
page in headless Chromium. It asserts that the home page, each tutorial and each API page load with their title and
the navigation to every page; that their relative links resolve; that no cell nbdev hides (`#| hide`, `export`...) shows; that every public
symbol of `spade_fastai` (`__all__` of each module, the methods added with `@patch`, and the methods a notebook
passes to `show_doc`) is on its API page with its name, signature (all argument names) and the first line of its
docstring; and that each page has an `<img>` per image output of its notebook, each of which Chromium decodes
(`naturalWidth > 0`, measured by a probe script the test server adds to each page). It saves screenshots of the
home page, the first tutorial and the first API page to `<site>/screenshots/`, prints a summary per page and
exits 1 on any failure.

    python tools/check_docs.py [--site _preview]
"""
import argparse, ast, importlib, inspect, json, re, shutil, subprocess, sys, tempfile, threading, time, warnings
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from urllib.parse import urljoin, urlsplit, unquote
from bs4 import BeautifulSoup
import nbformat
from nbconvert.filters import markdown2html

sys.path.insert(0, str(Path(__file__).parent))
from preview_docs import LIB, NBS, ROOT, build, site_pages

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync']
# After `load` (every image fetched and decoded, or failed), record [has src, naturalWidth] of each image on <html>.
PROBE = b"""<script>addEventListener('load', () => document.documentElement.setAttribute('data-images',
  JSON.stringify([...document.images].map(i => [!!i.getAttribute('src'), i.naturalWidth]))))</script>"""
IMG_TYPES = ('image/png', 'image/jpeg', 'image/gif', 'image/webp')

class Handler(SimpleHTTPRequestHandler):
    "Serves the site quietly, with `PROBE` added to each HTML page"
    def log_message(self, *args): pass
    def send_head(self):
        f = Path(self.translate_path(self.path))
        if f.suffix != '.html' or not f.is_file(): return super().send_head()
        body = f.read_bytes().replace(b'</body>', PROBE + b'</body>')
        self.send_response(200); self.send_header('Content-Type', 'text/html; charset=utf-8')
        self.send_header('Content-Length', str(len(body))); self.end_headers()
        return BytesIO(body)

class Server(ThreadingHTTPServer):
    "HTTP server that ignores clients hanging up early (Chromium does on its favicon's 404)"
    daemon_threads = True
    def handle_error(self, request, client_address): pass

def chromium(*args) -> str:
    "stdout of headless Chromium run with `args`, in a fresh profile"
    exe = shutil.which('chromium') or sys.exit('chromium not found: install it with `apt-get install -y chromium` (as root)')
    with tempfile.TemporaryDirectory() as d:
        return subprocess.run([exe, *FLAGS, f'--user-data-dir={d}', *args], capture_output=True, text=True, timeout=180).stdout

def norm(s:str) -> str: return ' '.join(s.split())
def md_text(s:str) -> str: return norm(BeautifulSoup(markdown2html(s), 'html.parser').get_text())

def _opts(src:str) -> dict: return dict(re.findall(r'(?m)^#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$', src))

HIDE = {'hide', 'export', 'exporti', 'default_exp'}  # the directives of the code cells nbdev drops from the docs

def hidden_sources(rel:Path) -> list:
    "Sources (directive lines removed) of the code cells of notebook `nbs/rel` that nbdev hides"
    cells = nbformat.read(NBS/rel, as_version=4).cells
    return [norm(re.sub(r'(?m)^#\|.*$', '', c.source)) for c in cells if c.cell_type == 'code' and HIDE & _opts(c.source).keys()]

def title_cell_extra(rel:Path) -> list:
    "Lines of the title cell of notebook `nbs/rel` besides `# title` and `> description`: nbdev turns that cell into front matter and drops them"
    md = next((c.source for c in nbformat.read(NBS/rel, as_version=4).cells if c.cell_type == 'markdown'), '')
    if not md.lstrip().startswith('# '): return []
    return [l for l in md.splitlines() if l.strip() and not l.startswith(('# ', '> '))]

def n_images(nb) -> int:
    "Image outputs a processed notebook shows (Quarto options honoured), plus images in its markdown"
    shown = lambda c: not {'false'} & {_opts(c.source).get(k) for k in ('include', 'output', 'eval')}
    outs = sum(any(t in o.get('data', {}) for t in IMG_TYPES) for c in nb.cells if c.cell_type == 'code' and shown(c) for o in c.outputs)
    return outs + sum(len(re.findall(r'!\[[^\]]*\]\(|<img\b', c.source)) for c in nb.cells if c.cell_type == 'markdown')

def _patched(tree) -> list:
    "`Class.name` of each `@patch`ed function in a module's AST"
    def classes(a):
        if isinstance(a, ast.Name): return [a.id]
        if isinstance(a, ast.BinOp): return classes(a.left) + classes(a.right)
        return [n for e in getattr(a, 'elts', []) for n in classes(e)]
    is_patch = lambda d: 'patch' in ast.unparse(d.func if isinstance(d, ast.Call) else d)
    return [f'{c}.{f.name}' for f in tree.body if isinstance(f, ast.FunctionDef) and any(map(is_patch, f.decorator_list))
            and f.args.args and f.args.args[0].annotation for c in classes(f.args.args[0].annotation)]

def _ours(o) -> bool: return getattr(o, '__module__', '').startswith(LIB.name + '.')   # a class of this library, not one of fastai's

def public_symbols() -> dict:
    "{notebook relative to nbs/: {symbol name: object}} for every module of the library but `all.py`"
    res = {}
    for f in sorted(LIB.glob('[!_]*.py')):
        if f.stem == 'all' or not (m := re.search(r'File to edit: \.\./nbs/(\S+\.ipynb)', f.read_text())): continue
        with warnings.catch_warnings():
            warnings.simplefilter('ignore'); mod = importlib.import_module(f'{LIB.name}.{f.stem}')
        src = ''.join(c.source for c in nbformat.read(NBS/m[1], as_version=4).cells if c.cell_type == 'code' and 'hide' not in _opts(c.source))
        methods = _patched(ast.parse(f.read_text())) + re.findall(r'show_doc\(\s*(\w+\.\w+)', src)   # also of classes defined in another module
        names = mod.__all__ + methods
        def get(n):
            o = mod
            for a in n.split('.'): o = getattr(o, a)
            return o
        def own(n):   # an alias kept for an earlier name (`SpadeGAN = SPADEGAN`), or a name imported from another module, is documented under its own name, where it is defined
            o = getattr(mod, n)
            return not (inspect.isclass(o) or inspect.isfunction(o)) or (o.__name__ == n and o.__module__ == mod.__name__)
        res.setdefault(Path(m[1]), {}).update({n: get(n) for n in dict.fromkeys(names) if (n in methods and _ours(getattr(mod, n.split('.')[0], None))) or (n in mod.__all__ and own(n))})
    return res

def _docline(o) -> str:
    "First line of `o`'s own docstring ('' if none)"
    d = o.__dict__.get('__doc__') if inspect.isclass(o) else getattr(o, '__doc__', None)
    return inspect.cleandoc(d).splitlines()[0] if d and d.strip() else ''

def _params(o) -> list:
    "Argument names of `o`'s signature, less `self`/`cls` (which show_doc leaves out)"
    try: return [p for p in inspect.signature(o).parameters if p not in ('self', 'cls')]
    except (ValueError, TypeError): return []

def check_symbol(main, name:str, o) -> str:
    "What is wrong with the documentation of `name` on a page's `main` ('' if nothing)"
    if not callable(o): return '' if re.search(rf'\b{re.escape(name)}\b', main.get_text()) else f'{name}: not on the page'
    def section(h):
        "The elements after heading `h`, up to the next heading or rule"
        res = []
        for e in h.find_next_siblings():
            if e.name in ('h1', 'h2', 'h3', 'h4', 'hr'): break
            res.append(e)
        return res
    heads = [(norm(h.get_text().replace('¶', '')), h) for h in main.find_all(['h2', 'h3', 'h4'])]
    # a patched context manager is headed by its bare name
    secs = [section(h) for t, h in heads if t == name] or [section(h) for t, h in heads if t == name.split('.')[-1]]
    if not secs: return f'{name}: no show_doc heading'
    sec = next((s for s in secs if any(e.name == 'pre' or e.find('pre') for e in s)), secs[0])  # prose may have a heading `name` too
    sig = ' '.join(e.get_text() for e in sec if e.name == 'pre' or e.find('pre'))
    short = name.split('.')[-1]
    if not re.search(rf'\b{re.escape(short)}\s*\(', sig): return f'{name}: no signature'
    if miss := [p for p in _params(o) if not re.search(rf'\b{p}\b', sig)]: return f'{name}: signature lacks {", ".join(miss)}'
    if not (doc := _docline(o)): return f'{name}: no docstring'
    return '' if md_text(doc) in norm(' '.join(e.get_text() for e in sec)) else f'{name}: docstring line not shown: {doc!r}'

def check_page(p, dom:str, base:str, site:Path, pages:list, symbols:dict) -> tuple:
    "(summary, [failures]) of the page `p` whose rendered DOM is `dom`"
    soup, fails, url = BeautifulSoup(dom, 'html.parser'), [], urljoin(base, p.path.as_posix())
    main, nav = soup.find('main'), soup.select_one('nav.sidebar')
    if main is None: return 'did not load', ['page did not load']
    if not (soup.title and soup.title.get_text().startswith(p.title)): fails.append(f'<title> is not {p.title!r}')
    if norm((soup.select_one('h1.title') or soup.new_tag('x')).get_text()) != norm(p.title): fails.append(f'no heading {p.title!r}')
    if p.title.startswith('#'): fails.append("the title starts with '#': the notebook's title heading has one '#' too many")
    want = {urljoin(base, q.path.as_posix()) for q in pages}
    got = {urljoin(url, a['href']) for a in nav.find_all('a', href=True)} if nav else set()
    if want - got: fails.append('navigation lacks ' + ', '.join(sorted(urlsplit(u).path for u in want - got)))
    for ref in [a['href'] for a in soup.find_all('a', href=True)] + [i['src'] for i in soup.find_all('img', src=True)]:
        if urlsplit(ref).scheme or ref.startswith(('#', '//')): continue
        if not (site/unquote(urlsplit(urljoin(url, ref)).path).lstrip('/')).is_file(): fails.append(f'broken link {ref}')
    pres = {norm(e.get_text()) for e in main.find_all('pre')}
    fails += [f'hidden cell shows: {s[:60]!r}' for s in hidden_sources(p.rel) if s in pres]
    if extra := title_cell_extra(p.rel): fails.append(f"the title cell has {len(extra)} more line(s) ({extra[0][:40]!r}...), which nbdev drops from the page: move them to a cell of their own")
    fails += [f'directive shows: {l.strip()!r}' for e in main.find_all('pre') for l in e.get_text().splitlines() if l.startswith('#|')]
    imgs = json.loads(soup.html.get('data-images', 'null') or 'null')
    if imgs is None: fails.append('the page never finished loading (no image probe)')
    else:
        n = sum(1 for i in main.find_all('img') if i.get('src'))
        if p.nb is not None and n != (k := n_images(p.nb)): fails.append(f'{n} <img> with a source, the notebook has {k} images')
        if bad := sum(1 for has_src, w in imgs if not (has_src and w > 0)): fails.append(f'{bad} of {len(imgs)} images do not load')
    syms = symbols.get(p.rel, {})
    if p.nb is None: fails.append(f'nbdev could not process the notebook: the page shows its error ({len(syms)} symbols unchecked)')
    else: fails += [e for n, o in syms.items() if (e := check_symbol(main, n, o))]
    summary = f'{len(imgs or [])} images' + (f', {len(syms)} symbols' if syms else '')
    return summary, fails

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--site', help='check this built preview instead of building _preview')
    a, t = ap.parse_args(), time.time()
    if a.site: site, pages = Path(a.site).resolve(), site_pages()
    else:
        site = ROOT/'_preview'
        pages, errs = build(site)
        print(f'built the preview in {time.time()-t:.0f}s' + (f'; nbdev failed on {", ".join(f"nbs/{r}" for r in errs)}' if errs else ''))
    srv = Server(('127.0.0.1', 0), partial(Handler, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f'http://127.0.0.1:{srv.server_address[1]}/'
    url = lambda p: urljoin(base, p.path.as_posix())
    shots = site/'screenshots'; shots.mkdir(exist_ok=True)
    secs = {p.section: [q for q in pages if q.section == p.section] for p in pages}
    firsts = [next((p for p in ps if p.nb is not None), ps[0]) for ps in secs.values()]  # first page nbdev processed, per section
    with ThreadPoolExecutor(2) as ex:  # Chromium works while the library is imported
        doms = ex.map(lambda p: chromium('--dump-dom', url(p)), pages)
        done = ex.map(lambda p: chromium(f'--screenshot={shots/p.path.stem}.png', '--window-size=1280,2000', url(p)), firsts)
        symbols = public_symbols()
        doms, _ = list(doms), list(done)
    srv.shutdown()
    nfail = 0
    for p in firsts:
        if not (shots/f'{p.path.stem}.png').is_file(): print(f'FAIL no screenshot of {p.path}'); nfail += 1
    for p, dom in zip(pages, doms):
        summary, fails = check_page(p, dom, base, site, pages, symbols)
        nfail += len(fails)
        print(f"{'FAIL' if fails else 'ok  '} {p.path.as_posix():28} {p.title[:40]:40} {summary}")
        for f in fails: print(f'       - {f}')
    for rel in symbols.keys() - {p.rel for p in pages}: print(f'FAIL no page for nbs/{rel}, which exports symbols'); nfail += 1
    nsym = sum(len(symbols.get(p.rel, {})) for p in pages if p.nb is not None)
    print(f'{len(pages)} pages, {nsym} symbols checked in {time.time()-t:.0f}s; screenshots in {shots}')
    if nfail: sys.exit(f'docs check failed: {nfail} problem(s), listed above')
    print('docs check passed')

if __name__ == '__main__': main()
