// Drives the page of `vcprr export --format html` in headless Chromium
// through the DevTools protocol (over --remote-debugging-pipe: no port, no
// npm package) and checks, from the DOM, what a person would look for:
// a lane per VCPU, the holds-the-CPU tracks, the failure marker and
// banner, a legend entry for every mark drawn, the arrows of pause lives;
// then drives wheel zoom, WASD, search and a click as a person would, and
// saves screenshots.
//
// usage: node tests/html-view.mjs CHROMIUM PAGE SHOT.png [checks...]
//   --vcpus N        N VCPU lanes
//   --serial         a holds-the-CPU track per VCPU, with slices
//   --failure TEXT   the failure marker and banner say TEXT
//   --lost TEXT      a "lost the CPU" label says TEXT
//   --flows          pause lives drawn as arrows
//   --search TEXT    searching TEXT finds events (and selects one)
//   --race VAR       (a page of vcprr analyze --html) the racing accesses
//                    to VAR marked on two lanes and linked, a decisive
//                    window shaded; clicking a race shows VAR and both
//                    source lines FILE:LINE (--race-source FILE)
//   --race-source F  the source file the race's lines are in
// Prints one line of timings; exits 1 with the failed checks.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const [chromium, page, shot, ...rest] = process.argv.slice(2);
const opt = { vcpus: null, serial: false, failure: null, lost: null,
	flows: false, search: null, race: null, 'race-source': null };
for (let i = 0; i < rest.length; i++) {
	const k = rest[i].replace(/^--/, '');
	if (typeof opt[k] === 'boolean') opt[k] = true;
	else if (k in opt) opt[k] = rest[++i];
	else { console.error('html-view: unknown option ' + rest[i]); process.exit(2); }
}
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

/* ---- a minimal DevTools protocol client over the pipe ------------------ */
const profile = mkdtempSync(join(tmpdir(), 'vcprr-chromium-'));
const proc = spawn(chromium, ['--headless', '--no-sandbox', '--disable-gpu',
	'--disable-background-networking', '--disable-component-update',
	'--disable-sync', '--no-first-run', '--user-data-dir=' + profile,
	'--remote-debugging-pipe', 'about:blank'],
	{ stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let buf = Buffer.alloc(0), nextId = 0, session = null;
const waiting = new Map(), listeners = [], pageErrors = [];
proc.stdio[4].on('data', d => {
	buf = Buffer.concat([buf, d]);
	for (let z; (z = buf.indexOf(0)) >= 0; buf = buf.subarray(z + 1)) {
		const m = JSON.parse(buf.subarray(0, z).toString());
		if (m.id && waiting.has(m.id)) {
			waiting.get(m.id)(m);
			waiting.delete(m.id);
		} else if (m.method) {
			for (const l of listeners) l(m);
		}
	}
});
const timer = setTimeout(() => { console.error('html-view: timed out'); quit(1); }, 60000);
function send(method, params = {}) {
	const m = { id: ++nextId, method, params };
	if (session) m.sessionId = session;
	proc.stdio[3].write(JSON.stringify(m) + '\0');
	return new Promise((ok, bad) => waiting.set(m.id, r => r.error ?
		bad(new Error(method + ': ' + r.error.message)) : ok(r.result)));
}
const once = method => new Promise(ok => listeners.push(m => m.method === method && ok(m)));
/* Chromium's helper processes may still write the profile as it exits:
 * ask it to close, then retry the removal a while. */
function quit(code) {
	clearTimeout(timer);
	proc.on('exit', () => {
		try {
			rmSync(profile, { recursive: true, force: true, maxRetries: 10,
				retryDelay: 100 });
		} catch (e) {
			console.error('html-view: left ' + profile + ': ' + e.message);
		}
		process.exit(code);
	});
	session = null;
	send('Browser.close').catch(() => {});
	setTimeout(() => proc.kill(), 2000).unref();
}
async function js(expr) {
	const r = await send('Runtime.evaluate', { expression: expr,
		returnByValue: true, awaitPromise: true });
	if (r.exceptionDetails) throw new Error('page: ' + expr + ': ' +
		r.exceptionDetails.exception?.description);
	return r.result.value;
}
const frames = () => js('new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))');
async function mouse(type, x, y, extra = {}) {
	await send('Input.dispatchMouseEvent', { type, x, y, button: 'left',
		clickCount: type === 'mouseMoved' ? 0 : 1, ...extra });
}
async function key(k, code, vk) {
	for (const type of ['keyDown', 'keyUp'])
		await send('Input.dispatchKeyEvent', { type, key: k, code,
			windowsVirtualKeyCode: vk, text: type === 'keyDown' && k.length === 1 ? k : undefined });
}
async function screenshot(file) {
	const r = await send('Page.captureScreenshot', { format: 'png' });
	writeFileSync(file, Buffer.from(r.data, 'base64'));
}
const view = () => js('[+tl.dataset.from, +tl.dataset.to]');

/* ---- the checks ------------------------------------------------------- */
async function structure() {
	const d = await js(`(() => {
		const q = s => document.querySelectorAll(s);
		const drawn = new Set();
		for (const n of q('#tl [class], #axis [class]'))
			for (const c of n.classList) drawn.add(c);
		const legend = [...q('#legend [data-class]')].map(n => n.dataset.class);
		const marker = document.querySelector('#axis .failure-marker');
		return { lanes: q('#tl g.lane').length, holds: q('#tl g.holds').length,
			holdSlices: q('#tl rect.hold').length, flows: q('#tl path.flow').length,
			drawn: [...drawn], legend,
			marker: marker ? marker.textContent : null,
			failLine: q('#tl line.fail-line').length,
			banner: getComputedStyle(document.getElementById('failure')).display !==
				'none' ? document.getElementById('failure-msg').textContent : null,
			lost: [...q('#tl text.hlabel')].map(n => n.textContent),
			listRows: q('#list .row').length, details: details.textContent };
	})()`);
	if (opt.vcpus !== null)
		check(d.lanes === +opt.vcpus, `${opt.vcpus} VCPU lanes (found ${d.lanes})`);
	if (opt.serial) {
		check(d.holds === d.lanes, `a holds-the-CPU track per VCPU (${d.holds})`);
		check(d.holdSlices > 0, 'holds-the-CPU slices drawn');
	}
	if (opt.failure) {
		check(d.marker && d.marker.includes(opt.failure),
			`failure marker says "${opt.failure}" (${d.marker})`);
		check(d.failLine > 0, 'failure line across the lanes');
		check(d.banner && d.banner.includes(opt.failure), `failure banner (${d.banner})`);
	}
	if (opt.lost)
		check(d.lost.some(t => t.includes(opt.lost)),
			`a lost-the-CPU label says "${opt.lost}" (${d.lost.join(' | ')})`);
	if (opt.flows)
		check(d.flows > 0, 'pause lives drawn as arrows');
	/* every mark drawn has its legend entry */
	const plain = new Set(['lane-bg', 'hold-bg', 'label', 'sub', 'axis', 'grid',
		'slabel', 'hlabel', 'lane', 'holds', 'failure-marker', 'fail-label',
		'fail-text', 'sel', 'band', 'alabel']);
	const missing = d.drawn.filter(c => !plain.has(c) && !d.legend.includes(c));
	check(!missing.length, 'legend entries for every mark drawn (missing: ' +
		missing.join(', ') + ')');
	check(d.listRows > 0, 'the event list shows events');
	return d;
}

async function wheelZoom() {
	const box = await js(`(() => { const r = tl.getBoundingClientRect();
		return [r.left, r.top, r.width]; })()`);
	const [a0, b0] = await view();
	const px = box[0] + 118 + (box[2] - 130) * 0.5, py = box[1] + 20;
	const tUnder = a0 + (b0 - a0) * 0.5;
	await mouse('mouseMoved', px, py);
	const t = Date.now();
	await send('Input.dispatchMouseEvent', { type: 'mouseWheel', x: px, y: py,
		deltaX: 0, deltaY: -400 });
	await frames();
	const redraw = Date.now() - t;
	const [a1, b1] = await view();
	check(b1 - a1 < (b0 - a0) * 0.8, `wheel zooms in (${b0 - a0} -> ${b1 - a1} ns)`);
	const tAfter = a1 + (b1 - a1) * 0.5;
	check(Math.abs(tAfter - tUnder) < (b0 - a0) * 0.02,
		'the time under the pointer stays put');
	await key('d', 'KeyD', 68);
	await frames();
	const [a2] = await view();
	check(a2 > a1, 'D pans right');
	await key('s', 'KeyS', 83);
	await frames();
	const [a3, b3] = await view();
	check(b3 - a3 > b1 - a1, 'S zooms out');
	return redraw;
}

async function tooltipInWindow() {
	/* hover the right end of the rightmost slice: the tooltip stays in */
	const p = await js(`(() => { let best = null;
		const box = document.getElementById('lanes').getBoundingClientRect();
		for (const n of document.querySelectorAll('#tl rect[data-k]')) {
			const r = n.getBoundingClientRect(), y = r.top + r.height / 2;
			if (r.width > 3 && r.height > 5 && y > box.top && y < box.bottom &&
			    (!best || r.right > best[0]))
				best = [r.right, y];
		}
		return best; })()`);
	if (!p) return check(false, 'a slice to hover');
	await mouse('mouseMoved', p[0] - 2, p[1]);
	const t = await js(`(() => { const r = tip.getBoundingClientRect();
		return [getComputedStyle(tip).display, r.left, r.right, innerWidth,
			tip.textContent]; })()`);
	check(t[0] === 'block' && t[4].length > 0, 'hovering a slice shows a tooltip at ' + p);
	check(t[1] >= 0 && t[2] <= t[3], `tooltip inside the window (${t[1]}..${t[2]} of ${t[3]})`);
	await mouse('mouseMoved', 5, 5);
}

async function searchEvents() {
	await js(`document.getElementById('fit').click()`);
	await frames();
	const b = await js(`(() => { const r = search.getBoundingClientRect();
		return [r.left + 10, r.top + r.height / 2]; })()`);
	await mouse('mousePressed', b[0], b[1]);
	await mouse('mouseReleased', b[0], b[1]);
	await send('Input.insertText', { text: opt.search });
	await frames();
	const r = await js(`(() => ({ count: document.getElementById('count').textContent,
		rows: [...document.querySelectorAll('#list .row')].map(n => n.textContent),
		marks: document.querySelectorAll('#tl rect.match').length }))()`);
	const q = opt.search.toLowerCase();
	check(r.rows.length > 0 && r.rows.every(t => t.toLowerCase().includes(q)),
		`search "${opt.search}" lists only matching events (${r.count})`);
	check(r.marks > 0, 'search matches are marked on the timeline');
	await key('Enter', 'Enter', 13);
	await frames();
	const det = await js('details.textContent');
	check(det.toLowerCase().includes(q), 'Enter selects a match and shows its details');
}

async function clickFailure() {
	await js(`document.getElementById('fit').click()`);
	await frames();
	const p = await js(`(() => { const n = document.querySelector('#axis .fail-label');
		if (!n) return null; const r = n.getBoundingClientRect();
		return [r.left + 4, r.top + r.height / 2]; })()`);
	if (!p) return check(false, 'a failure label to click');
	await mouse('mousePressed', p[0], p[1]);
	await mouse('mouseReleased', p[0], p[1]);
	await frames();
	const det = await js('details.textContent');
	check(det.includes(opt.failure), 'clicking the failure shows its details');
	await js(`document.getElementById('show-failure').click()`);
	await frames();
	const sel = await js(`document.querySelector('#list .row.sel')?.textContent || ''`);
	check(sel.length > 0, '"show the failure" selects its row in the list');
}

async function checkRaces() {
	await js(`document.getElementById('fit').click()`);
	await frames();
	const d = await js(`(() => {
		const q = s => [...document.querySelectorAll(s)];
		const marks = q('#tl path.race-write, #tl path.race-read');
		const lanes = new Set(marks.map(n => {
			const y = n.getBoundingClientRect().top;
			return q('#tl rect.hold-bg').findIndex(g => { const r = g.getBoundingClientRect();
				return y >= r.top - 8 && y <= r.bottom; });
		}));
		return { marks: marks.length, lanes: [...lanes],
			links: q('#tl path.race-link').length,
			decisive: q('#tl rect.an-decisive').length,
			panel: document.getElementById('analysis').textContent };
	})()`);
	check(d.marks >= 2, `racing accesses marked (${d.marks})`);
	check(d.lanes.filter(v => v >= 0).length >= 2,
		`racing accesses on two VCPUs' tracks (${d.lanes})`);
	check(d.links >= 1, `the pair linked (${d.links} links)`);
	check(d.decisive >= 1, `a decisive decision's window shaded (${d.decisive})`);
	check(d.panel.includes(opt.race), `the analysis list names ${opt.race} (${d.panel})`);
	/* a person clicks a racing access on the timeline */
	await js(`document.getElementById('fit').click()`);
	await frames();
	const p = await js(`(() => { const n = document.querySelector('#tl path.race-write');
		if (!n) return null; const r = n.getBoundingClientRect();
		return [r.left + r.width / 2, r.top + r.height / 2]; })()`);
	if (!p) return check(false, 'a racing write to click');
	await mouse('mousePressed', p[0], p[1]);
	await mouse('mouseReleased', p[0], p[1]);
	await frames();
	const det = await js('details.textContent');
	const src = opt['race-source'] || '';
	const lines = det.match(new RegExp(src.replace(/[.]/g, '\\.') + ':\\d+', 'g')) || [];
	check(det.includes('data race on ' + opt.race), 'clicking a racing access ' +
		'shows its race: ' + det.slice(0, 80));
	check(lines.length >= 2, `both source lines in the details (${lines.join(', ')})`);
	const selLinks = await js(`document.querySelectorAll('#tl path.race-link.sel').length`);
	check(selLinks === 1, 'the selected race\'s link stands out');
}

async function main() {
	const targets = await send('Target.createTarget', { url: 'about:blank' });
	session = (await send('Target.attachToTarget', { targetId: targets.targetId,
		flatten: true })).sessionId;
	listeners.push(m => {
		if (m.method === 'Runtime.exceptionThrown')
			pageErrors.push(m.params.exceptionDetails.exception?.description ||
				m.params.exceptionDetails.text);
		if (m.method === 'Runtime.consoleAPICalled' && m.params.type === 'error')
			pageErrors.push(m.params.args.map(a => a.value).join(' '));
	});
	await send('Page.enable');
	await send('Runtime.enable');
	await send('Emulation.setDeviceMetricsOverride', { width: 1400, height: 900,
		deviceScaleFactor: 1, mobile: false });
	const loaded = once('Page.loadEventFired'), t0 = Date.now();
	await send('Page.navigate', { url: 'file://' + resolve(page) });
	await loaded;
	await frames();
	const load = Date.now() - t0;
	await js(`window.tl = document.getElementById('tl'); window.tip =
		document.getElementById('tip'); window.details =
		document.getElementById('details'); window.search =
		document.getElementById('search'); 0`);
	const d = await structure();
	await screenshot(shot);
	const redraw = await wheelZoom();
	await tooltipInWindow();
	if (opt.failure) await clickFailure();
	if (opt.search) await searchEvents();
	if (opt.race) await checkRaces();
	await screenshot(shot.replace(/\.png$/, '-driven.png'));
	check(!pageErrors.length, 'no errors in the page: ' + pageErrors.join('; '));
	console.log(`html-view: ${page}: ${d.lanes} lanes, ${d.holdSlices} hold ` +
		`slices, ${d.flows} flows; load+draw ${load} ms, wheel redraw ${redraw} ms`);
	for (const f of failures) console.log('html-view: FAILED: ' + f);
	quit(failures.length ? 1 : 0);
}
main().catch(e => { console.error('html-view: ' + e.message); quit(1); });
