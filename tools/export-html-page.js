/* The viewer of vcprr export --format html.  It reads the rows (the JSON
 * in #data), META and TYPES that export-html.c embeds (their layout is described there) and
 * draws an SVG timeline: a lane per VCPU with its states and events, in
 * serial and step traces a "holds the CPU" track under it, the failure and
 * the end of the run as marks across all lanes, a pause's life as arrows.
 * Below it, the events as inspect dump prints them (searchable, synced
 * with the view) and the details of what is selected.  No network. */
(function () {
'use strict';

/* ---- the data ---------------------------------------------------------- */
const S_RUN = 1, S_EXIT = 2, S_PAUSED = 3, S_HALTED = 4;
const HOW = ['still holds it', 'preempted', 'paused', 'halted', 'yielded',
	'finished', 'blocked', 'run stopped'];
const STEPS = ['request', 'signal', 'kick', 'coalesced', 'taken',
	'resume request', 'resumed'];
const serial = META.mode !== 'parallel';
const evs = [], states = [], holds = [], lives = [], marks = [], dens = [];
const D = JSON.parse(document.getElementById('data').textContent);
for (const r of D) {
	switch (r[0]) {
	case 0: evs.push({ seq: r[1], t: r[2], v: r[3], type: r[4], f: r[5] });
		break;
	case 1: states.push({ v: r[1], t0: r[2], t1: r[3], st: r[4],
		seq: r[5], n: r[6] }); break;
	case 2: holds.push({ v: r[1], t0: r[2], t1: r[3], si: r[4], so: r[5],
		how: r[6], to: r[7], sin: r[8], sout: r[9], where: r[10] });
		break;
	case 3: lives.push({ v: r[1], req: r[2], into: r[3], data: r[4],
		s: r.slice(5, 12) }); break;
	case 4: marks.push({ seq: r[1], kind: r[2], msg: r[3] }); break;
	case 5: dens.push({ v: r[1], t0: r[2], t1: r[3], n: r[4] }); break;
	}
}
D.length = 0;

/* The event with sequence number @seq (the rows come in sequence order). */
function evAt(seq) {
	let lo = 0, hi = evs.length;
	while (lo < hi) {
		const m = (lo + hi) >> 1;
		if (evs[m].seq < seq) lo = m + 1; else hi = m;
	}
	return seq >= 0 && lo < evs.length && evs[lo].seq === seq ? lo : -1;
}
const tname = e => TYPES[e.type] || ('type' + e.type);
const markOf = new Map();
marks.forEach((m, i) => markOf.set(m.seq, i));

/* The failure: the first failing event, else a run that ended badly. */
let failure = marks.findIndex(m => m.kind === 1);
if (failure < 0)
	failure = marks.findIndex(m => m.kind === 2);
const failEv = failure < 0 ? -1 : evAt(marks[failure].seq);

let nlanes = META.lanes;
for (const a of [evs, states, holds, dens])
	for (const x of a)
		if (x.v + 1 > nlanes)
			nlanes = x.v + 1;
const lanes = [];
for (let v = 0; v < nlanes; v++)
	lanes.push({ states: [], holds: [], ticks: [], dens: [] });
const vmTicks = [], endTicks = [];

/* Which mark an event gets in its lane's top row (exits, pauses taken and
 * resumed, switches are drawn by the slices they begin or end). */
const TICK = {
	PAUSE_REQUEST: 'mk-request', PAUSE_COALESCED: 'mk-coalesced',
	SIGNAL_SENT: 'mk-signal', KICK: 'mk-kick', RESUME_REQUEST: 'mk-resume',
	VCPU_START: 'mk-life', VCPU_EXIT: 'mk-life', GUEST_EXIT: 'mk-life',
	GUEST_ASSERT: 'mk-failure', VCPU_ERROR: 'mk-failure',
};
const NOTICK = new Set(['EXIT_PIO', 'EXIT_MMIO', 'EXIT_HLT', 'EXIT_DEBUG',
	'HYPERCALL', 'PAUSE_TAKEN', 'RESUMED', 'SCHED_SWITCH']);
const tickClass = e => TICK[tname(e)] ||
	(NOTICK.has(tname(e)) ? null : 'mk-other');

evs.forEach((e, i) => {
	const name = tname(e);
	if (e.v < 0) {
		if (name === 'VM_STOP' || name === 'VM_END')
			endTicks.push(i);
		else if (name !== 'SCHED_SWITCH')
			vmTicks.push(i);
		return;
	}
	if (tickClass(e))
		lanes[e.v].ticks.push(i);
});
for (const s of states) lanes[s.v].states.push(s);
for (const h of holds) lanes[h.v].holds.push(h);
for (const d of dens) lanes[d.v].dens.push(d);
const byT0 = (a, b) => a.t0 - b.t0;
for (const l of lanes) {
	l.states.sort(byT0);
	l.holds.sort(byT0);
	l.dens.sort(byT0);
}

/* ---- formatting -------------------------------------------------------- */
function fmtDur(ns) {
	if (ns < 1000) return ns + 'ns';
	if (ns < 1e6) return (ns / 1e3).toFixed(1) + 'us';
	if (ns < 1e9) return (ns / 1e6).toFixed(3) + 'ms';
	return (ns / 1e9).toFixed(3) + 's';
}
const fmtT = ns => '+' + (ns / 1e6).toFixed(3) + 'ms';
const esc = s => String(s).replace(/[&<>"]/g,
	c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const lines = [];
/* An event as `vcprr inspect dump` prints it. */
function line(i) {
	if (lines[i] === undefined) {
		const e = evs[i];
		lines[i] = '#' + String(e.seq).padEnd(7) + ' +' +
			(e.t / 1e9).toFixed(9) + ' ' +
			(e.v < 0 ? 'vm     ' : 'vcpu ' + String(e.v).padEnd(2)) +
			' ' + (e.f ? tname(e).padEnd(15) + ' ' + e.f : tname(e));
	}
	return lines[i];
}
const symOf = i => { const m = i < 0 ? null : /<([^>]*)>/.exec(evs[i].f);
	return m ? m[1] : ''; };
const ripOf = i => { const m = i < 0 ? null : /rip=(0x[0-9a-f]+)/.exec(evs[i].f);
	return m ? m[1] : ''; };
function whereText(i) {
	if (i < 0) return '';
	const s = symOf(i);
	return s ? s : (ripOf(i) ? 'rip=' + ripOf(i) : '');
}
/* Source line: an assertion names its own; other RIPs use the guest's line
 * table when the export had one (META.lines). */
function sourceOf(i) {
	const e = evs[i];
	if (tname(e) === 'GUEST_ASSERT') {
		const f = /file="([^"]*)"/.exec(e.f), l = /line=(\d+)/.exec(e.f);
		if (f && l) return f[1] + ':' + l[1];
	}
	return META.lines[ripOf(i)] || '';
}
const stateName = st => st === S_RUN ? (serial ? 'runnable' : 'running') :
	['', '', 'in exit', 'paused', 'halted'][st] || '?';
function stateText(s) {
	const i = evAt(s.seq), e = i < 0 ? null : evs[i];
	let t = 'vcpu ' + s.v + ' ' + stateName(s.st) + ' for ' +
		fmtDur(s.t1 - s.t0);
	if (s.st === S_PAUSED && e) {
		const req = /req=(\d+)/.exec(e.f), data = /data=(0x[0-9a-f]+)/.exec(e.f);
		t += ' (request ' + (req ? req[1] : '?') + ', data ' +
			(data ? data[1] : '?') + ')';
	}
	if (s.st === S_EXIT && s.n > 1) t += ' (' + s.n + ' events)';
	return t + '\nfrom: ' + (e ? line(i) : '#' + s.seq);
}
function holdEnd(h) {
	const i = evAt(h.where), w = whereText(i), src = i < 0 ? '' : sourceOf(i);
	return HOW[h.how] + (w ? ' at ' + w : '') + (src ? ' (' + src + ')' : '') +
		(h.to >= 0 ? ' \u2192 vcpu ' + h.to : '');
}
function holdText(h) {
	return 'vcpu ' + h.v + ' holds the CPU for ' + fmtDur(h.t1 - h.t0) +
		', steps ' + h.si + '..' + h.so + '\nthen ' + holdEnd(h) +
		(h.where >= 0 ? ' (#' + h.where + ')' : '');
}
function lifeText(l) {
	let t = 'pause request ' + l.v + ':' + l.req + ' data=' + l.data;
	if (l.s[3] >= 0) t += ', coalesced into ' + l.v + ':' + l.into;
	let prev = -1;
	STEPS.forEach((name, k) => {
		const i = evAt(l.s[k]);
		if (i < 0) return;
		t += '\n  ' + name.padEnd(15) + ' #' + String(evs[i].seq).padEnd(7) +
			fmtT(evs[i].t) + (prev >= 0 ? '  (+' + fmtDur(evs[i].t -
			evs[prev].t) + ')' : '');
		prev = i;
	});
	if (l.s[4] < 0) t += '\n  never taken';
	return t;
}
function evText(i) {
	const m = markOf.get(evs[i].seq);
	return (m !== undefined ? marks[m].msg + '\n' : '') + line(i);
}

/* ---- the view ---------------------------------------------------------- */
const LEFT = 118, RIGHT = 12, AXIS_H = 34, VM_H = 16, MARK_H = 10, BAR_H = 20,
	HOLD_H = 16;
const LANE_H = MARK_H + BAR_H + 5 + (serial ? HOLD_H + 3 : 0);
const svg = document.getElementById('tl'), axisSvg = document.getElementById('axis');
const tip = document.getElementById('tip');
const span = Math.max(META.span, 1);
let W = 800, from = 0, to = span, sel = null, vFirst = 0, vEnd = 0;
const laneY = v => VM_H + v * LANE_H;
const x = t => LEFT + (t - from) / (to - from) * (W - LEFT - RIGHT);
const tAt = px => from + (px - LEFT) / (W - LEFT - RIGHT) * (to - from);

/* The activity: every event but a VM_END that came long after (teardown). */
function activity() {
	let a = Infinity, b = -Infinity;
	for (const e of evs) {
		if (tname(e) === 'VM_END') continue;
		if (e.t < a) a = e.t;
		if (e.t > b) b = e.t;
	}
	for (const l of lanes) for (const d of l.dens) {
		if (d.t0 < a) a = d.t0;
		if (d.t1 > b) b = d.t1;
	}
	if (!(b > a)) return [0, span];
	const pad = (b - a) * 0.03;
	return [Math.max(0, a - pad), b + pad];
}
function setView(a, b) {
	const minSpan = 50;
	if (b - a < minSpan) { const c = (a + b) / 2; a = c - minSpan / 2; b = c + minSpan / 2; }
	const lim = span * 1.5;
	if (b - a > lim) { a = 0; b = lim; }
	from = a; to = b;
	schedule();
}

/* First index of sorted @a (by t1 when ends, else t0) at or after @t. */
function lowerBound(a, t, key) {
	let lo = 0, hi = a.length;
	while (lo < hi) {
		const m = (lo + hi) >> 1;
		if (a[m][key] < t) lo = m + 1; else hi = m;
	}
	return lo;
}

/* Slices of one track, merged where they are thinner than a pixel. */
function drawSlices(out, a, y, h, cls, kind, label) {
	let gx0 = 0, gx1 = -1, gn = 0, gi = -1;
	const flush = () => {
		if (!gn) return;
		if (gn === 1)
			out.push('<rect class="' + cls(a[gi]) + '" x="' + gx0 + '" y="' + y +
				'" width="' + Math.max(1, gx1 - gx0) + '" height="' + h +
				'" data-k="' + kind + '" data-i="' + a[gi].idx + '"/>');
		else
			out.push('<rect class="dense" x="' + gx0 + '" y="' + y + '" width="' +
				Math.max(1, gx1 - gx0) + '" height="' + h + '" data-k="g" ' +
				'data-n="' + gn + '"/>');
		gn = 0;
	};
	for (let k = lowerBound(a, from, 't1'); k < a.length; k++) {
		const s = a[k];
		if (s.t0 > to) break;
		const x0 = Math.max(LEFT, x(s.t0)), x1 = Math.min(W - RIGHT, x(s.t1));
		if (x1 - x0 < 1.5) {
			if (gn && x0 <= gx1 + 1) { gx1 = Math.max(gx1, x1); gn++; continue; }
			flush();
			gx0 = x0; gx1 = Math.max(x1, x0 + 1); gn = 1; gi = k;
			continue;
		}
		flush();
		out.push('<rect class="' + cls(s) + '" x="' + x0 + '" y="' + y +
			'" width="' + (x1 - x0) + '" height="' + h + '" data-k="' + kind +
			'" data-i="' + s.idx + '"/>');
		const text = label && label(s);
		if (text && x1 - x0 > text.length * 6.2 + 6)
			out.push('<text class="slabel" x="' + (x0 + 3) + '" y="' +
				(y + h - 4) + '">' + esc(text) + '</text>');
	}
	flush();
}
states.forEach((s, i) => s.idx = i);
holds.forEach((h, i) => h.idx = i);
dens.forEach((d, i) => d.idx = i);
const stClass = s => ['', 'st-running', 'st-exit', 'st-paused', 'st-halted'][s.st];
function stLabel(s) {
	if (s.st === S_PAUSED) {
		const i = evAt(s.seq), m = i < 0 ? null : /req=(\d+)/.exec(evs[i].f);
		return 'paused' + (m ? ' (req ' + m[1] + ')' : '');
	}
	if (s.st === S_EXIT) { const i = evAt(s.seq); return i < 0 ? '' : tname(evs[i]); }
	return s.st === S_HALTED ? 'halted' : '';
}

function tick(out, cls, i, px, y) {
	const d = ' data-k="e" data-i="' + i + '"';
	if (cls === 'mk-request' || cls === 'mk-coalesced' || cls === 'mk-failure')
		out.push('<path class="' + cls + '" d="M' + (px - 4) + ' ' + y + 'h8l-4 ' +
			(MARK_H - 1) + 'z"' + d + '/>');
	else
		out.push('<line class="' + cls + '" x1="' + px + '" x2="' + px + '" y1="' +
			y + '" y2="' + (y + MARK_H + (cls === 'mk-life' ? BAR_H : 0)) + '"' +
			d + '/>');
}
/* Event marks, at most one per pixel and kind. */
function drawTicks(out, list, y) {
	const last = {};
	for (const i of list) {
		const e = evs[i];
		if (e.t < from || e.t > to) continue;
		const cls = e.v < 0 ? 'mk-other' : tickClass(e), px = Math.round(x(e.t));
		if (last[cls] === px) continue;
		last[cls] = px;
		tick(out, cls, i, px, y);
	}
}

function drawHolds(out, l, v) {
	const y = laneY(v) + MARK_H + BAR_H + 4;
	drawSlices(out, l.holds, y, HOLD_H, () => 'hold', 'h',
		h => 'holds the CPU (steps ' + h.si + '..' + h.so + ')');
	for (let k = 0; k < l.holds.length; k++) {
		const h = l.holds[k];
		if (h.t1 < from || h.t1 > to || h.how === 0) continue;
		const px = x(h.t1), next = l.holds[k + 1];
		if (h.to >= 0 && h.to < nlanes) {   /* the CPU passes on */
			const y2 = laneY(h.to) + MARK_H + BAR_H + 4;
			out.push('<line class="mk-switch" x1="' + px + '" x2="' + px + '" y1="' +
				(y + HOLD_H / 2) + '" y2="' + (y2 + HOLD_H / 2) + '"/>');
		}
		if (h.how === 7) continue;   /* the run stopped: its own mark */
		if (h.how === 1 || h.how === 2)   /* preempted, paused */
			out.push('<path class="mk-lost" d="M' + (px - 5) + ' ' + (y + HOLD_H) +
				'l5 -' + HOLD_H + 'l5 ' + HOLD_H + 'z" data-k="h" data-i="' +
				h.idx + '"/>');
		const text = holdEnd(h), room = (next ? x(next.t0) : W - RIGHT) - px - 10;
		if (room > text.length * 6.2)
			out.push('<text class="hlabel" x="' + (px + 7) + '" y="' +
				(y + HOLD_H - 3) + '">' + esc(text) + '</text>');
	}
}

function drawDensity(out, l, v) {
	let max = 1;
	for (const d of l.dens) if (d.n > max) max = d.n;
	const y = laneY(v) + MARK_H;
	for (const d of l.dens) {
		if (d.t1 < from || d.t0 > to) continue;
		const x0 = Math.max(LEFT, x(d.t0)), x1 = Math.min(W - RIGHT, x(d.t1));
		out.push('<rect class="density" x="' + x0 + '" y="' + (y + 3) +
			'" width="' + Math.max(1, x1 - x0) + '" height="' + (BAR_H - 6) +
			'" fill-opacity="' + (0.2 + 0.8 * d.n / max).toFixed(2) +
			'" data-k="d" data-i="' + d.idx + '"/>');
	}
}

/* A pause's life: arrows from the request to the signal, the pause taken
 * and the resume, above its VCPU's lane. */
function lifePoints(l) {
	const pts = [];
	for (const k of [0, 1, 4, 6]) {
		const i = evAt(l.s[k]);
		if (i < 0 || l.v < 0 || l.v >= nlanes) continue;
		const y = laneY(l.v) + (k < 4 ? MARK_H / 2 : MARK_H + BAR_H / 2);
		pts.push([x(evs[i].t), y, evs[i].t]);
	}
	return pts;
}
function drawFlow(out, l, idx, cls) {
	const p = lifePoints(l);
	for (let k = 1; k < p.length; k++) {
		const a = p[k - 1], b = p[k];
		if (b[0] - a[0] < 2) continue;
		const lift = Math.min(12, (b[0] - a[0]) / 3);
		out.push('<path class="' + cls + '" marker-end="url(#arrow)" d="M' + a[0] +
			' ' + a[1] + 'C' + (a[0] + lift) + ' ' + (Math.min(a[1], b[1]) - lift) +
			' ' + (b[0] - lift) + ' ' + (Math.min(a[1], b[1]) - lift) + ' ' + b[0] +
			' ' + b[1] + '" data-k="l" data-i="' + idx + '"/>');
	}
}
function drawFlows(out) {
	const vis = [];
	lives.forEach((l, i) => {
		if (l.v < vFirst || l.v >= vEnd) return;
		const p = lifePoints(l);
		if (p.length > 1 && p[p.length - 1][2] >= from && p[0][2] <= to)
			vis.push(i);
	});
	/* too many to read: the longest arrows only */
	const MAX = 200, len = i => { const p = lifePoints(lives[i]);
		return p[p.length - 1][0] - p[0][0]; };
	if (vis.length > MAX) {
		const l = new Map(vis.map(i => [i, len(i)]));
		vis.sort((a, b) => l.get(b) - l.get(a));
	}
	for (const i of vis.slice(0, MAX)) drawFlow(out, lives[i], i, 'flow');
	const selLife = sel && sel.k === 'l' ? sel.i : -1;
	if (selLife >= 0) drawFlow(out, lives[selLife], selLife, 'flow sel');
	return vis.length > MAX ? vis.length : 0;
}

const DEFS = '<defs><pattern id="hatch" width="4" height="4" ' +
	'patternUnits="userSpaceOnUse"><rect width="4" height="4" fill="#fff"/>' +
	'<path d="M0 4L4 0" stroke="#666" stroke-width="1.5"/></pattern>' +
	'<marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" ' +
	'markerHeight="7" orient="auto"><path d="M0 0L8 4L0 8z" fill="#7c3aed"/>' +
	'</marker></defs>';

function drawAxis(out, h) {
	const sp = to - from;
	let step = 1;
	for (let j = 0; sp / step > 10; j++) step *= [2, 2.5, 2][j % 3];
	const dig = Math.min(6, Math.max(0, 6 - Math.floor(Math.log10(step))));
	const ax = [];
	for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
		const px = x(t);
		out.push('<line class="grid" x1="' + px + '" x2="' + px + '" y1="0" y2="' +
			h + '"/>');
		if (px < W - 70)
			ax.push('<text class="axis" x="' + (px + 2) + '" y="' + (AXIS_H - 4) +
				'">' + (t / 1e6).toFixed(dig) + 'ms</text>');
	}
	return ax;
}

function failureMarks(out, ax, h) {
	for (const i of endTicks) {
		const e = evs[i];
		if (e.t < from || e.t > to) continue;
		const px = x(e.t);
		out.push('<line class="mk-end" x1="' + px + '" x2="' + px + '" y1="0" y2="' +
			h + '" data-k="e" data-i="' + i + '"/>');
	}
	if (failEv < 0) return;
	const t = evs[failEv].t;
	if (t < from || t > to) return;
	/* its label on the side with more room, cut to fit */
	const px = x(t), msg = '\u2716 ' + marks[failure].msg, cw = 6.7;
	const right = W - RIGHT - px, left = px - 4, room = Math.max(right, left) - 8;
	const text = msg.length * cw > room ? msg.slice(0, Math.max(4,
		Math.floor(room / cw) - 1)) + '\u2026' : msg;
	const tw = text.length * cw + 6;
	const lx = right >= tw ? px : Math.max(0, px - tw);
	out.push('<line class="fail-line" x1="' + px + '" x2="' + px + '" y1="0" y2="' +
		h + '" data-k="e" data-i="' + failEv + '"/>');
	ax.push('<line class="fail-line" x1="' + px + '" x2="' + px + '" y1="14" y2="' +
		AXIS_H + '"/><g class="failure-marker" data-k="e" data-i="' + failEv +
		'"><rect class="fail-label" x="' + lx + '" y="0" width="' + tw +
		'" height="15" data-k="e" data-i="' + failEv + '"/><text class="fail-text" x="' +
		(lx + 3) + '" y="11">' + esc(text) + '</text></g>');
}

function drawSelection(out) {
	if (!sel) return;
	let t0, t1, v, y, h;
	if (sel.k === 'e') {
		const e = evs[sel.i];
		t0 = t1 = e.t; v = e.v; y = v < 0 ? 0 : laneY(v); h = v < 0 ? VM_H : MARK_H + BAR_H;
	} else if (sel.k === 's') {
		const s = states[sel.i];
		t0 = s.t0; t1 = s.t1; y = laneY(s.v) + MARK_H; h = BAR_H;
	} else if (sel.k === 'h') {
		const s = holds[sel.i];
		t0 = s.t0; t1 = s.t1; y = laneY(s.v) + MARK_H + BAR_H + 4; h = HOLD_H;
	} else return;
	if (t1 < from || t0 > to) return;
	const x0 = Math.max(LEFT, x(t0)) - 2, x1 = Math.min(W - RIGHT, x(t1)) + 2;
	out.push('<rect class="sel-box" x="' + x0 + '" y="' + (y - 1) + '" width="' +
		(x1 - x0) + '" height="' + (h + 2) + '"/>');
}

function drawMatches(out) {
	if (!query) return;
	const last = new Set();
	for (const i of rows) {
		const e = evs[i];
		if (e.t < from || e.t > to) continue;
		if (e.v >= 0 && (e.v < vFirst || e.v >= vEnd)) continue;
		const px = Math.round(x(e.t)), y = e.v < 0 ? 2 : laneY(e.v);
		const key = px + ':' + y;
		if (last.has(key)) continue;
		last.add(key);
		out.push('<rect class="match" x="' + (px - 2) + '" y="' + y + '" width="4" ' +
			'height="' + MARK_H + '" data-k="e" data-i="' + i + '"/>');
	}
}

function draw() {
	W = Math.max(600, document.getElementById('lanes').clientWidth);
	const h = VM_H + nlanes * LANE_H + 4;
	const out = [], ax = [];
	ax.push(...drawAxis(out, h));
	out.push('<text class="label" x="4" y="12">vm</text>');
	drawTicks(out, vmTicks, 2);
	/* lanes scrolled out of the box get their frame only */
	const box = document.getElementById('lanes');
	vFirst = Math.max(0, Math.floor((box.scrollTop - VM_H) / LANE_H) - 1);
	vEnd = Math.min(nlanes, Math.ceil((box.scrollTop + (box.clientHeight ||
		h)) / LANE_H) + 1);
	for (let v = 0; v < nlanes; v++) {
		const l = lanes[v], y = laneY(v), shown = v >= vFirst && v < vEnd;
		out.push('<g class="lane" id="lane-' + v + '" data-vcpu="' + v + '">');
		out.push('<rect class="lane-bg" x="' + LEFT + '" y="' + (y + MARK_H) +
			'" width="' + (W - LEFT - RIGHT) + '" height="' + BAR_H + '"/>');
		out.push('<text class="label" x="4" y="' + (y + MARK_H + 14) + '">vcpu ' +
			v + '</text>');
		if (shown) {
			drawSlices(out, l.states, y + MARK_H, BAR_H, stClass, 's', stLabel);
			drawDensity(out, l, v);
			drawTicks(out, l.ticks, y);
		}
		out.push('</g>');
		if (!serial) continue;
		const hy = y + MARK_H + BAR_H + 4;
		out.push('<g class="holds" id="holds-' + v + '" data-vcpu="' + v + '">');
		out.push('<rect class="hold-bg" x="' + LEFT + '" y="' + hy + '" width="' +
			(W - LEFT - RIGHT) + '" height="' + HOLD_H + '"/>');
		out.push('<text class="label sub" x="14" y="' + (hy + 12) +
			'">holds CPU</text>');
		if (shown) drawHolds(out, l, v);
		out.push('</g>');
	}
	const hidden = drawFlows(out);
	failureMarks(out, ax, h);
	drawMatches(out);
	drawSelection(out);
	out.push('<rect id="drag" x="0" y="0" width="0" height="' + h + '"/>');
	svg.setAttribute('width', W);
	svg.setAttribute('height', h);
	svg.innerHTML = out.join('');
	axisSvg.setAttribute('width', W);
	axisSvg.setAttribute('height', AXIS_H);
	axisSvg.innerHTML = ax.join('');
	svg.dataset.from = from;
	svg.dataset.to = to;
	document.getElementById('range').textContent = fmtT(from) + ' .. ' + fmtT(to) +
		' (' + fmtDur(to - from) + ')' + (hidden ? ', arrows of 200 of the ' +
		hidden + ' pause lives in view: zoom in for the others' : '');
	syncList();
}
let pending = false;
function schedule() {
	if (pending) return;
	pending = true;
	requestAnimationFrame(() => { pending = false; draw(); });
}

/* ---- pointer and keys -------------------------------------------------- */
function target(ev) {
	let n = ev.target;
	while (n && n !== svg && n !== axisSvg && !(n.dataset && n.dataset.k))
		n = n.parentNode;
	return n && n.dataset && n.dataset.k ? n : null;
}
function tipText(n) {
	const k = n.dataset.k, i = +n.dataset.i;
	switch (k) {
	case 'e': return evText(i);
	case 's': return stateText(states[i]);
	case 'h': return holdText(holds[i]);
	case 'l': return lifeText(lives[i]);
	case 'd': return 'vcpu ' + dens[i].v + ': ' + dens[i].n + ' exits from ' +
		fmtT(dens[i].t0) + ' to ' + fmtT(dens[i].t1);
	case 'g': return n.dataset.n + ' short slices in this pixel: zoom in';
	}
	return '';
}
/* Placed beside the pointer, on whichever side keeps it in the window. */
function showTip(ev, text) {
	tip.textContent = text;
	tip.style.display = 'block';
	const r = tip.getBoundingClientRect(), vw = window.innerWidth,
		vh = window.innerHeight;
	let left = ev.clientX + 14, top = ev.clientY + 16;
	if (left + r.width > vw - 4) left = ev.clientX - 14 - r.width;
	if (top + r.height > vh - 4) top = ev.clientY - 10 - r.height;
	tip.style.left = Math.max(4, left) + 'px';
	tip.style.top = Math.max(4, top) + 'px';
}
let mouseX = null, drag = null;
function onMove(ev) {
	const r = svg.getBoundingClientRect();
	mouseX = ev.clientX - r.left;
	if (drag !== null) {
		const d = document.getElementById('drag');
		d.setAttribute('x', Math.min(drag, mouseX));
		d.setAttribute('width', Math.abs(mouseX - drag));
		return;
	}
	const n = target(ev);
	if (!n) { tip.style.display = 'none'; return; }
	showTip(ev, tipText(n));
}
for (const s of [svg, axisSvg]) {
	s.addEventListener('mousemove', onMove);
	s.addEventListener('mouseleave', () => { tip.style.display = 'none'; mouseX = null; });
}
svg.addEventListener('mousedown', ev => {
	if (ev.button !== 0) return;
	drag = ev.clientX - svg.getBoundingClientRect().left;
});
window.addEventListener('mouseup', ev => {
	if (drag === null) return;
	const px = ev.clientX - svg.getBoundingClientRect().left, d0 = drag;
	drag = null;
	if (Math.abs(px - d0) > 4 && Math.max(px, d0) > LEFT) {
		setView(tAt(Math.max(LEFT, Math.min(px, d0))), tAt(Math.max(px, d0)));
		return;
	}
	const n = target(ev);
	if (n) select(n.dataset.k, +n.dataset.i, 'view');
	else schedule();
});
axisSvg.addEventListener('click', ev => {
	const n = target(ev);
	if (n) select(n.dataset.k, +n.dataset.i, 'view');
});
svg.addEventListener('dblclick', () => fit());
function zoomBy(f, px) {
	const c = px !== null && px > LEFT ? tAt(px) : (from + to) / 2;
	setView(c - (c - from) * f, c + (to - c) * f);
}
function panBy(frac) {
	const d = (to - from) * frac;
	setView(from + d, to + d);
}
svg.addEventListener('wheel', ev => {
	const px = ev.clientX - svg.getBoundingClientRect().left;
	if (px < LEFT) return;   /* over the names: scroll the lanes */
	ev.preventDefault();
	const unit = ev.deltaMode === 1 ? 33 : ev.deltaMode === 2 ? 400 : 1;
	if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY))
		panBy((ev.shiftKey ? ev.deltaY || ev.deltaX : ev.deltaX) * unit /
			(W - LEFT - RIGHT));
	else
		zoomBy(Math.exp(ev.deltaY * unit * 0.002), px);
}, { passive: false });
document.addEventListener('keydown', ev => {
	if (ev.target.tagName === 'INPUT' || ev.ctrlKey || ev.metaKey || ev.altKey)
		return;
	switch (ev.key.toLowerCase()) {
	case 'w': zoomBy(0.8, mouseX); break;
	case 's': zoomBy(1.25, mouseX); break;
	case 'a': panBy(-0.15); break;
	case 'd': panBy(0.15); break;
	case 'f': zoomToSel(); break;
	case 'escape': select(null); break;
	default: return;
	}
	ev.preventDefault();
});
const ACT = activity();
function fit() { setView(ACT[0], ACT[1]); }
document.getElementById('fit').addEventListener('click', fit);
document.getElementById('all').addEventListener('click', () => setView(0, span));
window.addEventListener('resize', schedule);
document.getElementById('lanes').addEventListener('scroll', schedule);

/* ---- selection and details --------------------------------------------- */
function selRange() {
	if (!sel) return null;
	switch (sel.k) {
	case 'e': return [evs[sel.i].t, evs[sel.i].t];
	case 's': return [states[sel.i].t0, states[sel.i].t1];
	case 'h': return [holds[sel.i].t0, holds[sel.i].t1];
	case 'l': { const p = lifePoints(lives[sel.i]).map(q => q[2]);
		return p.length ? [Math.min(...p), Math.max(...p)] : null; }
	case 'd': return [dens[sel.i].t0, dens[sel.i].t1];
	}
	return null;
}
function zoomToSel() {
	const r = selRange();
	if (!r) return;
	const w = Math.max(r[1] - r[0], (to - from) * 0.02, 1000);
	setView(r[0] - w * 0.5, r[1] + w * 0.5);
}
/* The VCPU of the selection, or -1. */
function selLane() {
	switch (sel && sel.k) {
	case 'e': return evs[sel.i].v;
	case 's': return states[sel.i].v;
	case 'h': return holds[sel.i].v;
	case 'l': return lives[sel.i].v;
	case 'd': return dens[sel.i].v;
	}
	return -1;
}
/* Keeps the selection in view without changing the zoom. */
function reveal() {
	const v = selLane(), box = document.getElementById('lanes');
	if (v >= 0 && (laneY(v) < box.scrollTop ||
	    laneY(v) + LANE_H > box.scrollTop + box.clientHeight))
		box.scrollTop = Math.max(0, laneY(v) - box.clientHeight / 3);
	const r = selRange();
	if (!r || (r[0] >= from && r[1] <= to)) return;
	const c = (r[0] + r[1]) / 2, w = to - from;
	setView(c - w / 2, c + w / 2);
}
function lifeOf(seq) {
	return lives.findIndex(l => l.s.includes(seq));
}
function selectedEvent() {
	if (!sel) return -1;
	switch (sel.k) {
	case 'e': return sel.i;
	case 's': return evAt(states[sel.i].seq);
	case 'h': return evAt(holds[sel.i].sout >= 0 ? holds[sel.i].sout : holds[sel.i].sin);
	case 'l': return evAt(lives[sel.i].s[0] >= 0 ? lives[sel.i].s[0] : lives[sel.i].s[4]);
	}
	return -1;
}
/* The slice of @a at @t (the one that begins there, at a boundary). */
function covering(a, t) {
	let k = lowerBound(a, t, 't1');
	while (k + 1 < a.length && a[k].t1 === t && a[k + 1].t0 <= t) k++;
	return k < a.length && a[k].t0 <= t ? a[k] : null;
}
function row(k, v) {
	return '<tr><td>' + esc(k) + '</td><td>' + v + '</td></tr>';
}
function eventDetails(i) {
	const e = evs[i], m = markOf.get(e.seq), out = [];
	out.push('<h3>' + esc(tname(e)) + ' #' + e.seq + '</h3>');
	if (m !== undefined)
		out.push('<div style="color:#b91c1c;font-weight:bold">' +
			esc(marks[m].msg) + '</div>');
	out.push('<div class="line">' + esc(line(i)) + '</div><table>');
	out.push(row('time', esc(fmtT(e.t))));
	out.push(row('vcpu', e.v < 0 ? 'vm' : e.v));
	const re = /(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g;
	let f;
	while ((f = re.exec(e.f)))
		out.push(row(f[1], esc(f[2])));
	const sym = symOf(i), src = sourceOf(i);
	if (sym) out.push(row('symbol', esc(sym)));
	out.push(row('source', src ? esc(src) :
		'<span style="color:#888">unknown (no line table)</span>'));
	if (e.v >= 0 && e.v < nlanes) {
		const s = covering(lanes[e.v].states, e.t);
		if (s) out.push(row('state', esc(stateName(s.st) + ' ' + fmtT(s.t0) +
			' .. ' + fmtT(s.t1))));
		if (serial) {
			const holder = lanes.findIndex(l => covering(l.holds, e.t));
			out.push(row('CPU held by', holder < 0 ? 'nobody' : 'vcpu ' + holder));
		}
	}
	out.push('</table>');
	const li = lifeOf(e.seq);
	if (li >= 0)
		out.push('<div class="line">' + esc(lifeText(lives[li])) + '</div>');
	return out.join('');
}
function details() {
	const d = document.getElementById('details');
	if (!sel) { d.textContent = 'Click an event, a slice or a list row for details.'; return; }
	let html;
	switch (sel.k) {
	case 'e': html = eventDetails(sel.i); break;
	case 's': html = '<h3>state</h3><div class="line">' + esc(stateText(states[sel.i])) +
		'</div>' + (lifeOf(states[sel.i].seq) >= 0 ? '<div class="line">' +
		esc(lifeText(lives[lifeOf(states[sel.i].seq)])) + '</div>' : ''); break;
	case 'h': html = '<h3>holds the CPU</h3><div class="line">' +
		esc(holdText(holds[sel.i])) + '</div>'; break;
	case 'l': html = '<h3>pause life</h3><div class="line">' +
		esc(lifeText(lives[sel.i])) + '</div>'; break;
	case 'd': html = '<h3>exits</h3><div class="line">' + esc(tipText(
		{ dataset: { k: 'd', i: sel.i } })) + '</div>'; break;
	default: html = '';
	}
	d.innerHTML = html + '<p><button type="button" id="zoomsel">zoom to it (F)</button></p>';
	document.getElementById('zoomsel').addEventListener('click', zoomToSel);
}
function select(k, i, from_) {
	sel = k ? { k, i } : null;
	if (sel && from_ !== 'view') reveal();
	details();
	const e = selectedEvent();
	if (e >= 0 && from_ !== 'list') scrollListTo(e);
	schedule();
}
function showFailure() {
	if (failEv < 0) return;
	const t = evs[failEv].t, a = Math.min(ACT[0], t);
	setView(a, t + Math.max((t - a) * 0.08, 1000));
	select('e', failEv, 'view');
}
if (failure >= 0) {
	const f = document.getElementById('failure');
	f.style.display = 'block';
	document.getElementById('failure-msg').textContent = marks[failure].msg +
		(failEv >= 0 ? '  (' + (evs[failEv].v < 0 ? 'vm' : 'vcpu ' +
		evs[failEv].v) + ', #' + evs[failEv].seq + ' ' + fmtT(evs[failEv].t) + ')' : '');
	document.getElementById('show-failure').addEventListener('click', showFailure);
}

/* ---- the event list ---------------------------------------------------- */
const ROW_H = 18;
const list = document.getElementById('list'), inner = document.getElementById('list-inner');
const search = document.getElementById('search'), inview = document.getElementById('inview');
let rows = [], query = '', lower = null, listFollows = true;
function filter() {
	query = search.value.trim().toLowerCase();
	if (query && !lower) lower = evs.map((e, i) => line(i).toLowerCase());
	rows = [];
	for (let i = 0; i < evs.length; i++) {
		if (query && !lower[i].includes(query)) continue;
		if (inview.checked && (evs[i].t < from || evs[i].t > to)) continue;
		rows.push(i);
	}
	inner.style.height = rows.length * ROW_H + 'px';
	document.getElementById('count').textContent = (query ? rows.length +
		' match' + (rows.length === 1 ? '' : 'es') : rows.length + ' events') +
		(META.listed < META.events ? ' (of ' + META.events + ')' : '');
	renderList();
	schedule();
}
function renderList() {
	const top = list.scrollTop, h = list.clientHeight || 300;
	const a = Math.max(0, Math.floor(top / ROW_H) - 5);
	const b = Math.min(rows.length, Math.ceil((top + h) / ROW_H) + 5);
	const se = selectedEvent(), out = [];
	for (let k = a; k < b; k++) {
		const i = rows[k], e = evs[i];
		let cls = 'row';
		if (e.t < from || e.t > to) cls += ' out';
		if (i === se) cls += ' sel';
		if (markOf.has(e.seq) && marks[markOf.get(e.seq)].kind !== 3) cls += ' fail';
		out.push('<div class="' + cls + '" style="top:' + k * ROW_H + 'px" data-i="' +
			i + '">' + esc(line(i)) + '</div>');
	}
	inner.innerHTML = out.join('');
}
function scrollListTo(i) {
	let k = rows.indexOf(i);
	if (k < 0) return;
	const top = k * ROW_H, h = list.clientHeight;
	if (top < list.scrollTop || top > list.scrollTop + h - ROW_H)
		list.scrollTop = Math.max(0, top - h / 3);
	listFollows = false;
	renderList();
}
/* The list follows the view: its first event in view comes to the top. */
function syncList() {
	if (inview.checked) { filter(); return; }
	if (listFollows && rows.length) {
		let lo = 0, hi = rows.length;
		while (lo < hi) {
			const m = (lo + hi) >> 1;
			if (evs[rows[m]].t < from) lo = m + 1; else hi = m;
		}
		list.scrollTop = Math.min(lo, rows.length - 1) * ROW_H;
	}
	listFollows = true;
	renderList();
}
list.addEventListener('scroll', renderList);
inner.addEventListener('click', ev => {
	const n = ev.target.closest('.row');
	if (n) select('e', +n.dataset.i, 'list');
});
function nextMatch(dir) {
	if (!rows.length) return;
	const se = selectedEvent();
	let k = rows.indexOf(se);
	k = k < 0 ? (dir > 0 ? 0 : rows.length - 1) :
		(k + dir + rows.length) % rows.length;
	select('e', rows[k]);
}
search.addEventListener('input', filter);
search.addEventListener('keydown', ev => {
	if (ev.key === 'Enter') { nextMatch(ev.shiftKey ? -1 : 1); ev.preventDefault(); }
});
document.getElementById('next').addEventListener('click', () => nextMatch(1));
document.getElementById('prev').addEventListener('click', () => nextMatch(-1));
inview.addEventListener('change', filter);

/* ---- header and legend ------------------------------------------------- */
document.getElementById('info').textContent = META.trace + ': guest ' +
	META.guest + ', mode ' + META.mode + ', seed ' + META.seed + ', ' +
	META.vcpus + ' VCPUs, ' + fmtDur(META.span) + ', ' + META.state;
document.getElementById('note').textContent = META.note;
/* Every mark the view draws, drawn by the same classes. */
const LEGEND = [
	['st-running', serial ? 'runnable (waits for or holds the CPU)' : 'running',
		'<rect class="st-running" x="1" y="2" width="14" height="9"/>'],
	['hold', 'holds the CPU', '<rect class="hold" x="1" y="2" width="14" height="9"/>', serial],
	['st-exit', 'in a VM exit', '<rect class="st-exit" x="1" y="2" width="14" height="9"/>'],
	['density', 'exits (darker: more)', '<rect class="density" x="1" y="2" width="14" ' +
		'height="9" fill-opacity="0.6"/>', META.binned],
	['st-paused', 'paused (its request in the tooltip)',
		'<rect class="st-paused" x="1" y="2" width="14" height="9"/>'],
	['st-halted', 'halted', '<rect class="st-halted" x="1" y="2" width="14" height="9"/>'],
	['dense', 'more slices than pixels: zoom in',
		'<rect class="dense" x="1" y="2" width="14" height="9"/>'],
	['mk-request', 'pause request', '<path class="mk-request" d="M4 2h8l-4 8z"/>'],
	['mk-coalesced', 'request coalesced into a newer one',
		'<path class="mk-coalesced" d="M4 2h8l-4 8z"/>'],
	['mk-signal', 'signal sent', '<line class="mk-signal" x1="8" x2="8" y1="1" y2="11"/>'],
	['mk-kick', 'kick (KVM_RUN interrupted)',
		'<line class="mk-kick" x1="8" x2="8" y1="1" y2="11"/>'],
	['mk-resume', 'resume request', '<line class="mk-resume" x1="8" x2="8" y1="1" y2="11"/>'],
	['flow', 'a pause\u2019s life: request \u2192 signal \u2192 taken \u2192 resumed',
		'<path class="flow" d="M1 10C5 2 11 2 15 8" marker-end="url(#arrow)"/>'],
	['mk-life', 'VCPU start / exit', '<line class="mk-life" x1="8" x2="8" y1="1" y2="11"/>'],
	['mk-switch', 'the CPU passes to another VCPU',
		'<line class="mk-switch" x1="8" x2="8" y1="0" y2="12"/>', serial],
	['mk-lost', 'preempted or paused here (where: its label)',
		'<path class="mk-lost" d="M3 11l5 -10l5 10z"/>', serial],
	['mk-other', 'other event (log, console ...)',
		'<line class="mk-other" x1="8" x2="8" y1="2" y2="10"/>'],
	['mk-failure', 'failing event (assertion, VCPU error)',
		'<path class="mk-failure" d="M4 2h8l-4 8z"/>'],
	['fail-line', 'the failure (click its label)',
		'<line class="fail-line" x1="8" x2="8" y1="0" y2="12"/>' +
		'<rect class="fail-label" x="10" y="1" width="6" height="6"/>'],
	['mk-end', 'the run stops / ends', '<line class="mk-end" x1="8" x2="8" y1="0" y2="12"/>'],
	['match', 'search match', '<rect class="match" x="6" y="1" width="4" height="9"/>'],
	['sel-box', 'selected', '<rect class="sel-box" x="2" y="2" width="12" height="8"/>'],
];
document.getElementById('legend').innerHTML = '<svg width="0" height="0" ' +
	'style="position:absolute">' + DEFS + '</svg>' + LEGEND.filter(l => l[3] !== false)
	.map(l => '<span data-class="' + l[0] + '"><svg width="16" height="12">' +
	l[2] + '</svg> ' + esc(l[1]) + '</span>').join('');

fit();
filter();
if (failEv >= 0) select('e', failEv, 'view');
})();
