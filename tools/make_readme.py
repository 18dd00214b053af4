"""Render `nbs/index.ipynb` (the docs home page) to `README.md`, as `nbdev-readme` does with Quarto.

Quarto cannot be installed everywhere this project is developed, so this small renderer does the same job
from the notebook's saved outputs: markdown cells as they are (images they link to, relative to `nbs/`, re-pointed there), code cells without `#| hide` as Python
blocks, text outputs indented, PNG outputs written to `index_files/figure-commonmark/`.

    python tools/make_readme.py           # write README.md and its images
    python tools/make_readme.py --check   # exit 1 if README.md or an image is out of date
"""
import base64, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NB, README, IMG_DIR = ROOT/'nbs'/'index.ipynb', ROOT/'README.md', 'index_files/figure-commonmark'

def _hidden(src:str) -> bool: return any(l.strip() in ('#| hide', '#|hide') for l in src.splitlines()[:3])

def render(nb_path:Path=NB) -> tuple:
    "(markdown text, {relative image path: PNG bytes}) for the notebook at `nb_path`"
    nb, parts, images = json.loads(Path(nb_path).read_text()), [], {}
    for i, c in enumerate(nb['cells']):
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': parts.append(re.sub(r'\]\((?!https?:|/|#)([^)]+\.(?:png|jpe?g|gif|svg))\)', r'](nbs/\1)', src)); continue
        if c['cell_type'] != 'code' or _hidden(src): continue
        parts.append(f'```python\n{src}\n```')
        for j, o in enumerate(c.get('outputs', [])):
            data = o.get('data', {})
            if 'image/png' in data:
                rel = f'{IMG_DIR}/cell-{i}-output-{j}.png'
                images[rel] = base64.b64decode(data['image/png'])
                parts.append(f'![output of the cell above]({rel})')
            elif o.get('output_type') == 'stream' and o.get('name') == 'stdout' or 'text/plain' in data:
                text = ''.join(o.get('text') or data.get('text/plain')).rstrip('\n')
                parts.append('    ' + text.replace('\n', '\n    '))
    return '\n\n'.join(parts) + '\n', images

def stale(root:Path=ROOT) -> list:
    "Files that differ from what `render` makes (empty when README.md is up to date)"
    md, images = render(root/'nbs'/'index.ipynb')
    out = [] if (root/'README.md').is_file() and (root/'README.md').read_text() == md else ['README.md']
    out += [rel for rel, b in images.items() if not (root/rel).is_file() or (root/rel).read_bytes() != b]
    return out

def write(root:Path=ROOT):
    "Write README.md and its images; remove images no longer used"
    md, images = render(root/'nbs'/'index.ipynb')
    (root/'README.md').write_text(md)
    (root/IMG_DIR).mkdir(parents=True, exist_ok=True)
    for f in (root/IMG_DIR).glob('*.png'):
        if f'{IMG_DIR}/{f.name}' not in images: f.unlink()
    for rel, b in images.items(): (root/rel).write_bytes(b)

if __name__ == '__main__':
    if '--check' in sys.argv:
        s = stale()
        if s: sys.exit(f"README.md is out of step with nbs/index.ipynb ({', '.join(s)}). Fix: python tools/make_readme.py")
        print('README.md is up to date')
    else: write(); print(f'wrote {README}')
