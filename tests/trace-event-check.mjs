// Checks a Chrome Trace Event Format file (the JSON that vcprr export
// --format chrome writes) against the format's rules, as the trace viewers
// apply them:
//  - the object form {"traceEvents": [...]} (or a bare array), a known
//    displayTimeUnit;
//  - every event: a known phase with the fields that phase needs (name,
//    numeric ts >= 0, integer pid and tid, dur >= 0 for X, a scope g/p/t
//    for instants, an id for flow events, args an object);
//  - metadata names a thread or process with a string (sort indexes are
//    integers), and every thread that has events is named;
//  - complete (X) slices on a thread nest: none overlaps another partly;
//  - each flow (cat, name, id) has one start "s", then steps "t", then one
//    end "f", in time order, and every one binds to an event of the same
//    cat, pid, tid and ts (the binding rule of the viewers).
// usage: node tests/trace-event-check.mjs FILE   (exit 1 with the errors)
import { readFileSync } from 'node:fs';

const PHASES = new Set(['B', 'E', 'X', 'i', 'I', 'C', 'b', 'n', 'e', 's',
	't', 'f', 'M', 'P', 'O', 'N', 'D', 'R', 'c']);
const META_NAMES = { process_name: 'name', thread_name: 'name',
	process_labels: 'labels', process_sort_index: 'sort_index',
	thread_sort_index: 'sort_index' };
const errors = [];
const err = (i, msg) => { if (errors.length < 50) errors.push(`event ${i}: ${msg}`); };
const isInt = v => Number.isInteger(v);
const isNum = v => typeof v === 'number' && Number.isFinite(v);

const file = process.argv[2];
let doc;
try {
	doc = JSON.parse(readFileSync(file, 'utf8'));
} catch (e) {
	console.error(`trace-event-check: ${file}: not JSON: ${e.message}`);
	process.exit(1);
}
const evs = Array.isArray(doc) ? doc : doc.traceEvents;
if (!Array.isArray(evs)) {
	console.error(`trace-event-check: ${file}: no traceEvents array`);
	process.exit(1);
}
if (!Array.isArray(doc) && doc.displayTimeUnit !== undefined &&
    !['ms', 'ns'].includes(doc.displayTimeUnit))
	errors.push('displayTimeUnit must be "ms" or "ns"');

const named = new Set(), used = new Map(), slices = new Map(), bindable = new Set();
const flows = new Map();
const key = (pid, tid) => pid + '/' + tid;
evs.forEach((e, i) => {
	if (typeof e !== 'object' || e === null || Array.isArray(e))
		return err(i, 'not an object');
	if (!PHASES.has(e.ph))
		return err(i, `unknown phase ${JSON.stringify(e.ph)}`);
	if (!isInt(e.pid) || !isInt(e.tid))
		err(i, 'pid and tid must be integers');
	if (typeof e.name !== 'string')
		err(i, 'name must be a string');
	if (e.args !== undefined && (typeof e.args !== 'object' || e.args === null ||
	    Array.isArray(e.args)))
		err(i, 'args must be an object');
	if (e.ph === 'M') {
		const field = META_NAMES[e.name];
		if (!field)
			return err(i, `unknown metadata ${e.name}`);
		const v = e.args && e.args[field];
		if (field === 'sort_index' ? !isInt(v) : typeof v !== 'string' || !v)
			err(i, `${e.name} needs args.${field}`);
		if (e.name === 'thread_name')
			named.add(key(e.pid, e.tid));
		return;
	}
	if (!isNum(e.ts) || e.ts < 0)
		err(i, 'ts must be a number >= 0');
	if (typeof e.cat !== 'string')
		err(i, 'cat must be a string');
	used.set(key(e.pid, e.tid), i);
	switch (e.ph) {
	case 'X':
		if (!isNum(e.dur) || e.dur < 0)
			err(i, 'an X event needs dur >= 0');
		if (!slices.has(key(e.pid, e.tid)))
			slices.set(key(e.pid, e.tid), []);
		/* in integer ns, as the viewers import them */
		slices.get(key(e.pid, e.tid)).push([Math.round(e.ts * 1000),
			Math.round(e.ts * 1000) + Math.round(e.dur * 1000), i]);
		bindable.add([e.cat, e.pid, e.tid, e.ts].join('|'));
		break;
	case 'i':
	case 'I':
		if (e.s !== undefined && !['g', 'p', 't'].includes(e.s))
			err(i, 'instant scope must be g, p or t');
		if (e.s === undefined || e.s === 't')
			bindable.add([e.cat, e.pid, e.tid, e.ts].join('|'));
		break;
	case 's':
	case 't':
	case 'f': {
		if (!isInt(e.id) && typeof e.id !== 'string')
			err(i, 'a flow event needs an id');
		if (e.ph === 'f' && e.bp !== undefined && e.bp !== 'e')
			err(i, 'bp must be "e"');
		const k = [e.cat, e.name, e.id].join('|');
		if (!flows.has(k))
			flows.set(k, []);
		flows.get(k).push([e, i]);
		break;
	}
	}
});

for (const [k, i] of used)
	if (!named.has(k))
		err(i, `thread ${k} has events but no thread_name`);

/* X slices on one thread nest (the longer first when they start together) */
for (const list of slices.values()) {
	list.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
	const stack = [];
	for (const [b, e, i] of list) {
		while (stack.length && stack[stack.length - 1][1] <= b)
			stack.pop();
		const top = stack[stack.length - 1];
		if (top && e > top[1])
			err(i, `slice ${b}..${e} overlaps slice ${top[0]}..${top[1]} ` +
				`(event ${top[2]}) partly`);
		stack.push([b, e, i]);
	}
}

for (const [k, list] of flows) {
	const ph = list.map(([e]) => e.ph).join('');
	if (!/^st*f$/.test(ph))
		err(list[0][1], `flow ${k}: phases ${ph}, expected s t... f`);
	for (let j = 1; j < list.length; j++)
		if (list[j][0].ts < list[j - 1][0].ts)
			err(list[j][1], `flow ${k}: goes back in time`);
	for (const [e, i] of list)
		if (!bindable.has([e.cat, e.pid, e.tid, e.ts].join('|')))
			err(i, `flow ${k}: ${e.ph} binds to no event of cat ${e.cat} ` +
				`on ${key(e.pid, e.tid)} at ${e.ts}`);
}

if (errors.length) {
	for (const e of errors)
		console.error(`trace-event-check: ${file}: ${e}`);
	process.exit(1);
}
console.log(`trace-event-check: ${file}: ${evs.length} events, ${flows.size} ` +
	`flows, ${named.size} named threads: OK`);
