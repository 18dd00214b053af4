// The spade_fastai painter: paint a label map, see the generated photo beside it.
// One ES module, no dependencies, for both hosts: the Jupyter widget (anywidget's `model`) and the
// local web page (painter.html's `HttpModel`, the same calls over HTTP). The label map is an array
// of class indices painted directly, so no blended colour can reach the model.
// Messages: the page sends {kind: hello|render|example|open|style|save, ...} with the label map or a
// file as a binary buffer; the model side (spade_fastai.paint.Painter.handle) answers
// {kind: info|image|labels|style|saved|error, ...}, with the class-index map or a PNG as a buffer.

const bytesOf = b => b instanceof Uint8Array ? b : b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

function h(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'role') e.dataset.role = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids) e.append(c);
  return e;
}

function render({ model, el }) {
  const S = {                      // the painter's state; the model side keeps none of it
    info: null, H: 0, W: 0, labels: null, Arr: Uint8Array,
    tool: 'brush', cls: 0, erase: 0, size: 4,
    seed: 0, resampled: {}, style: null,
    undo: [], redo: [],
    version: 0, busy: false, dirty: false, timer: null, nextId: 1, reqs: {},
    drawing: false, last: null, strokeEnd: null, renders: 0, imageUrl: null, slow: false,
  };
  // tabindex: keys reach the painter; data-lm-suppress-shortcuts: JupyterLab leaves its shortcuts ('b', 'f', Ctrl+Z …) to it while it has the focus
  const root = h('div', { class: 'spade-painter', tabindex: '0', role: 'painter', 'data-lm-suppress-shortcuts': 'true' });
  root.dataset.renders = '0';
  root.dataset.busy = '0';
  el.append(root);
  const status = h('div', { class: 'sp-status', role: 'status', text: 'connecting to the model…' });
  root.append(status);
  const say = (msg, err = false) => { status.textContent = msg; status.classList.toggle('sp-error', err); };

  const send = (content, buffers = []) => model.send(content, undefined, buffers.map(b => b.buffer.byteLength === b.byteLength ? b.buffer : b.slice().buffer));

  // ---- drawing on the label map ----
  let canvas, ctx, img, lut, palette, eraseSel, sizeIn, sizeOut, seedIn, newBtn, resBtn, styleName, undoBtn, redoBtn, exampleSel;
  const at = i => S.labels[i];
  function paintCanvas() {
    const im = ctx.createImageData(S.W, S.H), d = im.data;
    for (let i = 0; i < S.labels.length; i++) {
      const c = 4 * at(i);
      d[4 * i] = lut[c]; d[4 * i + 1] = lut[c + 1]; d[4 * i + 2] = lut[c + 2]; d[4 * i + 3] = 255;
    }
    ctx.putImageData(im, 0, 0);
  }
  function stamp(x, y, c) {           // a disc of diameter `size` label pixels: pixels whose centre lies inside
    const r = S.size / 2, r2 = r * r;
    for (let yy = Math.max(0, Math.floor(y - r)); yy <= Math.min(S.H - 1, Math.ceil(y + r)); yy++)
      for (let xx = Math.max(0, Math.floor(x - r)); xx <= Math.min(S.W - 1, Math.ceil(x + r)); xx++) {
        const dx = xx + 0.5 - x, dy = yy + 0.5 - y;
        if (dx * dx + dy * dy <= r2) S.labels[yy * S.W + xx] = c;
      }
    if (S.size <= 1) { const xi = Math.floor(x), yi = Math.floor(y); if (xi >= 0 && yi >= 0 && xi < S.W && yi < S.H) S.labels[yi * S.W + xi] = c; }
  }
  function line(a, b, c) {
    const n = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) / Math.max(0.5, S.size / 4)));
    for (let k = 1; k <= n; k++) stamp(a[0] + (b[0] - a[0]) * k / n, a[1] + (b[1] - a[1]) * k / n, c);
  }
  function fill(x, y, c) {            // 4-connected flood fill of the region of (x, y)'s class
    const W = S.W, H = S.H, L = S.labels, start = y * W + x, old = L[start];
    if (old === c) return false;
    const stack = [start];
    while (stack.length) {
      const i = stack.pop();
      if (L[i] !== old) continue;
      L[i] = c;
      const xi = i % W;
      if (xi > 0) stack.push(i - 1);
      if (xi < W - 1) stack.push(i + 1);
      if (i >= W) stack.push(i - W);
      if (i < (H - 1) * W) stack.push(i + W);
    }
    return true;
  }
  function pos(ev) {
    const r = canvas.getBoundingClientRect();
    return [(ev.clientX - r.left) / r.width * S.W, (ev.clientY - r.top) / r.height * S.H];
  }
  const snapshot = () => ({ labels: S.labels.slice(), H: S.H, W: S.W });
  function remember() { S.undo.push(snapshot()); if (S.undo.length > 100) S.undo.shift(); S.redo = []; buttons(); }
  function restore(s) { setMap(s.labels, s.H, s.W); }
  function buttons() { undoBtn.disabled = !S.undo.length; redoBtn.disabled = !S.redo.length; }
  function changed(now = false) {
    S.version++; paintCanvas();
    if (S.drawing && S.slow) return;   // a slow model gets the map when the stroke ends, not half a stroke that the whole one would queue behind
    request(now);
  }

  function setMap(labels, H, W) {
    if (H !== S.H || W !== S.W) {
      S.H = H; S.W = W; canvas.width = W; canvas.height = H;
      for (const e of [canvas, img]) e.style.aspectRatio = `${W} / ${H}`;   // both panels share the width they get (CSS), at the map's shape
      sizeIn.max = String(Math.max(8, Math.round(Math.max(H, W) / 3)));
    }
    S.labels = labels;
    changed(true);
  }

  // ---- asking the model for images ----
  function request(now = false) {   // one request at a time: changes made meanwhile are sent when it returns
    if (S.busy) { S.dirty = true; return; }
    clearTimeout(S.timer);
    S.timer = setTimeout(renderNow, now ? 0 : 40);
  }
  function renderNow() {
    S.timer = null; S.busy = true; S.dirty = false; root.dataset.busy = '1';
    const id = S.nextId++;
    S.reqs[id] = { version: S.version, t0: performance.now() };
    send({ kind: 'render', id, seed: S.seed, resampled: S.resampled, width: S.W, height: S.H }, [S.labels.slice()]);
  }
  function showImage(msg, buf) {
    const req = S.reqs[msg.id] || { version: -1, t0: performance.now() };
    delete S.reqs[msg.id];
    if (S.imageUrl) URL.revokeObjectURL(S.imageUrl);
    S.imageUrl = URL.createObjectURL(new Blob([bytesOf(buf)], { type: 'image/png' }));
    img.onload = () => {
      const now = performance.now();
      S.renders++;
      root.dataset.renders = String(S.renders);
      root.dataset.version = String(req.version);
      root.dataset.modelMs = msg.ms.toFixed(1);
      let lat = '';
      if (S.strokeEnd && req.version >= S.strokeEnd.version) {   // the first image that shows the whole last stroke
        const ms = now - S.strokeEnd.t;
        root.dataset.latency = ms.toFixed(1);
        lat = ` · ${ms.toFixed(0)} ms from the end of the stroke`;
        S.strokeEnd = null;
      }
      say(`image ${S.renders}: model ${msg.ms.toFixed(0)} ms${lat} · seed ${S.seed}${resampledText()}${S.style ? ' · style of ' + S.style : ''}`);
      S.slow = msg.ms > 250;           // live images while drawing only from a model that makes one in under a quarter of a second
      S.busy = false; root.dataset.busy = '0';
      if (S.dirty) request(true);
    };
    img.src = S.imageUrl;
  }
  const resampledText = () => { const k = Object.keys(S.resampled); return k.length ? ` · resampled: ${k.map(c => S.info.classes[c][0]).join(', ')}` : ''; };

  // ---- messages from the model side ----
  function onMsg(msg, buffers) {
    const buf = buffers && buffers.length ? buffers[0] : null;
    if (msg.kind === 'info') build(msg, buf);
    else if (msg.kind === 'image') showImage(msg, buf);
    else if (msg.kind === 'labels') {
      remember();
      const a = new S.Arr(bytesOf(buf).slice().buffer);
      setMap(a, msg.height, msg.width);
      say(`label map ${msg.source} (${msg.width}x${msg.height})`);
    } else if (msg.kind === 'style') { S.style = msg.name; styleName.textContent = msg.name ? `style: ${msg.name}` : ''; sampleButtons(); request(true); }
    else if (msg.kind === 'saved') { say(`saved ${msg.image} and ${msg.labels} (class indices)${msg.record ? ' and ' + msg.record : ''}`); root.dataset.saved = msg.labels; }
    else if (msg.kind === 'error') {
      say(msg.message, true);
      if (msg.request === 'render') { S.busy = false; root.dataset.busy = '0'; }
    }
  }

  function sampleButtons() {
    const m = S.info.mode;
    newBtn.disabled = m === 'plain' || (m === 'vae' && !!S.style);
    newBtn.title = m === 'plain' ? 'this model makes one image per label map (no z, no noise)' : m === 'vae' && S.style ? 'clear the style photo to draw new samples' : 'draw another z or noise';
    if (resBtn) resBtn.textContent = `Resample ${S.info.classes[S.cls][0]}`;
  }
  function selectClass(i) {
    S.cls = i;
    for (const b of palette.querySelectorAll('[data-role=class]')) b.classList.toggle('sp-on', Number(b.dataset.index) === i);
    if (S.tool === 'eraser') setTool('brush');
    sampleButtons();
  }
  function setTool(t) {
    S.tool = t;
    for (const b of root.querySelectorAll('[data-role=tool]')) b.classList.toggle('sp-on', b.dataset.tool === t);
  }
  const randSeed = () => Math.floor(Math.random() * 2 ** 31);

  function build(info, startBuf) {
    S.info = info;
    S.Arr = info.dtype === 'uint16' ? Uint16Array : Uint8Array;
    S.seed = info.seed;
    lut = new Uint8Array(4 * (info.dtype === 'uint16' ? 65536 : 256));   // values without a colour (don't-care) stay black
    info.classes.forEach(([, c], i) => { lut[4 * i] = c[0]; lut[4 * i + 1] = c[1]; lut[4 * i + 2] = c[2]; });
    S.erase = info.erase;

    canvas = h('canvas', { class: 'sp-canvas', role: 'canvas', title: 'paint here' });
    ctx = canvas.getContext('2d');
    img = h('img', { class: 'sp-image', role: 'image', alt: 'generated image' });
    const toolBtn = (t, label, key) => h('button', { role: 'tool', 'data-tool': t, title: `${label} (${key})`, onclick: () => setTool(t) }, label);
    eraseSel = h('select', { role: 'erase-class', title: 'the class the eraser paints', onchange: e => { S.erase = Number(e.target.value); } },
      ...info.classes.map(([n], i) => h('option', { value: i, selected: i === info.erase }, n)));
    sizeOut = h('span', { class: 'sp-size' });
    sizeIn = h('input', { type: 'range', min: 1, max: 32, value: info.brush, role: 'size', title: 'brush size in label-map pixels ([ and ])',
      oninput: e => { S.size = Number(e.target.value); sizeOut.textContent = `${S.size}px`; } });
    S.size = info.brush; sizeOut.textContent = `${S.size}px`;
    undoBtn = h('button', { role: 'undo', title: 'undo (Ctrl+Z)', onclick: () => undo() }, 'Undo');
    redoBtn = h('button', { role: 'redo', title: 'redo (Ctrl+Shift+Z)', onclick: () => redo() }, 'Redo');
    const blank = h('button', { role: 'blank', title: 'a new map, all of the selected class', onclick: () => { remember(); setMap(new S.Arr(S.H * S.W).fill(S.cls), S.H, S.W); } }, 'Blank');
    exampleSel = info.examples.length ? h('select', { role: 'example', title: 'start from a label map of the validation set',
      onchange: e => { if (e.target.value !== '') send({ kind: 'example', index: Number(e.target.value) }); e.target.value = ''; } },
      h('option', { value: '' }, 'Example…'), ...info.examples.map((n, i) => h('option', { value: i }, n))) : '';
    const openIn = h('input', { type: 'file', accept: 'image/png,image/*', role: 'open', style: 'display:none',
      onchange: async e => { const f = e.target.files[0]; if (f) send({ kind: 'open', name: f.name }, [new Uint8Array(await f.arrayBuffer())]); e.target.value = ''; } });
    const openBtn = h('button', { title: 'start from a label-map PNG', onclick: () => openIn.click() }, 'Open…');
    const save = h('button', { role: 'save', title: `save the label map and the image into ${info.out}`, onclick: () => send({ kind: 'save', seed: S.seed, resampled: S.resampled, width: S.W, height: S.H }, [S.labels.slice()]) }, 'Save');
    root.prepend(h('div', { class: 'sp-bar' },
      toolBtn('brush', 'Brush', 'B'), toolBtn('fill', 'Fill', 'F'), toolBtn('eraser', 'Eraser', 'E'), h('label', {}, ' to ', eraseSel),
      h('label', { class: 'sp-gap' }, 'size ', sizeIn, sizeOut), undoBtn, redoBtn,
      h('span', { class: 'sp-gap' }, 'start: '), blank, exampleSel, openBtn, openIn, h('span', { class: 'sp-gap' }), save));

    let filter = '';
    palette = h('div', { class: 'sp-palette', role: 'palette' });
    const items = info.classes.map(([n, c], i) => h('button', { role: 'class', 'data-index': i, 'data-name': n, title: `${i}: ${n}`, onclick: () => selectClass(i) },
      h('span', { class: 'sp-swatch', style: `background: rgb(${c[0]},${c[1]},${c[2]})` }), n));
    const search = items.length > 12 ? h('input', { type: 'search', placeholder: 'find a class', class: 'sp-find', role: 'find',
      oninput: e => { filter = e.target.value.toLowerCase(); for (const b of items) b.style.display = b.dataset.name.toLowerCase().includes(filter) ? '' : 'none'; } }) : '';
    palette.append(search, ...items);

    seedIn = h('input', { type: 'number', min: 0, step: 1, value: S.seed, role: 'seed', title: 'the seed of z or of the noise: the same map and seed give the same image',
      onchange: e => { S.seed = Math.max(0, Math.floor(Number(e.target.value) || 0)); S.resampled = {}; request(true); } });
    newBtn = h('button', { role: 'new-sample', onclick: () => { S.seed = randSeed(); seedIn.value = S.seed; S.resampled = {}; request(true); } }, 'New sample');
    resBtn = info.mode === 'oasis' ? h('button', { role: 'resample', title: 'new noise inside the selected class only: the rest of the image stays',
      onclick: () => { S.resampled = { ...S.resampled, [S.cls]: randSeed() }; request(true); } }, 'Resample') : null;
    styleName = h('span', { class: 'sp-stylename', role: 'style-name' });
    const styleIn = h('input', { type: 'file', accept: 'image/*', role: 'style', style: 'display:none',
      onchange: async e => { const f = e.target.files[0]; if (f) send({ kind: 'style', name: f.name }, [new Uint8Array(await f.arrayBuffer())]); e.target.value = ''; } });
    const styleBtns = info.mode === 'vae' ? [h('button', { title: 'generate in the style of a photo (the style encoder)', onclick: () => styleIn.click() }, 'Style photo…'), styleIn,
      h('button', { role: 'clear-style', title: 'back to random z', onclick: () => send({ kind: 'style', name: null }) }, 'No style'), styleName] : [];
    const bottom = h('div', { class: 'sp-bar' }, h('label', {}, 'seed ', seedIn), newBtn, ...(resBtn ? [resBtn] : []), ...styleBtns);

    root.insertBefore(h('div', { class: 'sp-main' }, palette, h('div', { class: 'sp-panel' }, canvas), h('div', { class: 'sp-panel' }, img)), status);
    root.insertBefore(bottom, status);
    setTool('brush'); selectClass(info.select); buttons();

    canvas.addEventListener('pointerdown', ev => {
      if (ev.button !== 0) return;
      ev.preventDefault(); root.focus();
      const p = pos(ev), c = S.tool === 'eraser' ? S.erase : S.cls;
      if (S.tool === 'fill') {
        const x = Math.floor(p[0]), y = Math.floor(p[1]);
        if (x < 0 || y < 0 || x >= S.W || y >= S.H) return;
        const before = snapshot();
        if (fill(x, y, c)) { S.undo.push(before); S.redo = []; buttons(); S.strokeEnd = { version: S.version + 1, t: performance.now() }; changed(true); }
        return;
      }
      canvas.setPointerCapture(ev.pointerId);
      remember(); S.drawing = true; S.last = p; stamp(p[0], p[1], c); changed();
    });
    canvas.addEventListener('pointermove', ev => {
      if (!S.drawing) return;
      const p = pos(ev);
      line(S.last, p, S.tool === 'eraser' ? S.erase : S.cls); S.last = p; changed();
    });
    const end = () => { if (!S.drawing) return; S.drawing = false; S.strokeEnd = { version: S.version, t: performance.now() }; request(true); };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
    root.addEventListener('keydown', ev => {
      const k = ev.key.toLowerCase();
      if (ev.target.tagName === 'INPUT' || ev.target.tagName === 'SELECT') return;
      if ((ev.ctrlKey || ev.metaKey) && (k === 'y' || (k === 'z' && ev.shiftKey))) redo();
      else if ((ev.ctrlKey || ev.metaKey) && k === 'z') undo();
      else if (k === 'b') setTool('brush'); else if (k === 'f') setTool('fill'); else if (k === 'e') setTool('eraser');
      else if (k === '[' || k === ']') { S.size = Math.min(Number(sizeIn.max), Math.max(1, S.size + (k === ']' ? 1 : -1))); sizeIn.value = S.size; sizeOut.textContent = `${S.size}px`; }
      else return;
      ev.preventDefault(); ev.stopPropagation();
    });

    setMap(new S.Arr(bytesOf(startBuf).slice().buffer), info.height, info.width);
    say(`${info.classes.length} classes · ${info.width}x${info.height} · ${info.about}`);
  }
  function undo() { if (!S.undo.length) return; S.redo.push(snapshot()); restore(S.undo.pop()); buttons(); }
  function redo() { if (!S.redo.length) return; S.undo.push(snapshot()); restore(S.redo.pop()); buttons(); }

  model.on('msg:custom', onMsg);
  send({ kind: 'hello' });
  return () => { model.off('msg:custom', onMsg); if (S.imageUrl) URL.revokeObjectURL(S.imageUrl); };
}

export default { render };
