/* report.js: draws a dag-report page from the trace embedded in it (#trace-data):
 * a Gantt chart (one row per lane: worker, CUDA stream, rank), utilisation over time and
 * statistics tables. Runs offline; large traces are drawn as merged per-pixel runs. */
(function () {
  'use strict';
  var SVGNS = 'http://www.w3.org/2000/svg';
  var MAX_RECTS = 20000; /* beyond this, slices closer than a pixel are merged */
  var data = JSON.parse(document.getElementById('trace-data').textContent);
  var evs = Array.isArray(data) ? data : (data.traceEvents || []);
  var other = data.otherData || {};

  function el(ns, tag, attrs, parent) {
    var e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (var k in attrs) if (attrs.hasOwnProperty(k)) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, s) { parent.appendChild(document.createTextNode(s)); return parent; }
  function hue(s) {
    var h = 2166136261;
    for (var i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
    return h % 360;
  }
  function color(name, cat) {
    if (cat === 'transfer') return 'hsl(30,85%,55%)';
    return 'hsl(' + hue(name) + ',60%,' + (cat === 'device' ? 45 : 62) + '%)';
  }
  function fmt(us) {
    if (us >= 1e6) return (us / 1e6).toFixed(3) + ' s';
    if (us >= 1e3) return (us / 1e3).toFixed(3) + ' ms';
    return us.toFixed(3) + ' us';
  }

  /* ---- events -> lanes and slices ---- */
  var laneNames = {}, procNames = {}, lanes = {}, slices = [], open = {};
  evs.forEach(function (e) {
    if (!e || typeof e !== 'object') return;
    var key = e.pid + ':' + e.tid;
    if (e.ph === 'M') {
      if (e.name === 'thread_name') laneNames[key] = e.args && e.args.name;
      if (e.name === 'process_name') procNames[e.pid] = e.args && e.args.name;
      return;
    }
    var s = null;
    if (e.ph === 'X') {
      s = {pid: e.pid, tid: e.tid, ts: +e.ts, dur: +(e.dur || 0), name: e.name || '?',
           cat: e.cat || '', args: e.args || {}};
    } else if (e.ph === 'B') {
      (open[key] = open[key] || []).push(e);
    } else if (e.ph === 'E' && open[key] && open[key].length) {
      var b = open[key].pop();
      s = {pid: b.pid, tid: b.tid, ts: +b.ts, dur: e.ts - b.ts, name: b.name || '?',
           cat: b.cat || '', args: b.args || {}};
    }
    if (!s) return;
    slices.push(s);
    if (!lanes[key]) lanes[key] = {key: key, pid: s.pid, tid: s.tid, slices: []};
    lanes[key].slices.push(s);
  });
  var laneList = Object.keys(lanes).map(function (k) { return lanes[k]; });
  laneList.sort(function (a, b) { return a.pid - b.pid || a.tid - b.tid; });
  laneList.forEach(function (l) {
    var n = laneNames[l.key] || ('lane ' + l.tid);
    l.label = (Object.keys(procNames).length > 1 ? (procNames[l.pid] || 'pid ' + l.pid) + ' / ' : '') + n;
    l.slices.sort(function (a, b) { return a.ts - b.ts; });
  });
  var t0 = Infinity, t1 = -Infinity;
  slices.forEach(function (s) {
    if (s.ts < t0) t0 = s.ts;
    if (s.ts + s.dur > t1) t1 = s.ts + s.dur;
  });
  if (!slices.length) { t0 = 0; t1 = 1; }
  if (t1 <= t0) t1 = t0 + 1;
  var span = t1 - t0;

  /* ---- summary ---- */
  var tasks = slices.filter(function (s) { return s.cat === 'task' || s.cat === 'device'; });
  var summary = el(null, 'div', {'class': 'summary'}, document.getElementById('summary'));
  [['tasks', tasks.length], ['lanes', laneList.length], ['span', fmt(span)],
   ['ranks', Object.keys(procNames).length || 1],
   ['generator', other.generator || 'unknown']].forEach(function (p) {
    var sp = el(null, 'span', {}, summary);
    text(el(null, 'b', {}, sp), p[0] + ': ');
    text(sp, String(p[1]));
  });

  /* ---- Gantt ---- */
  var W = Math.max(600, Math.min(1600, (window.innerWidth || 1200) - 60));
  var LABEL = 170, ROW = 18, TOP = 20;
  var plotW = W - LABEL - 10;
  var H = TOP + ROW * laneList.length + 6;
  var g = el(SVGNS, 'svg', {width: W, height: H, viewBox: '0 0 ' + W + ' ' + H},
             document.getElementById('gantt'));
  function xOf(t) { return LABEL + (t - t0) / span * plotW; }
  for (var i = 0; i <= 10; i++) {
    var x = LABEL + plotW * i / 10;
    el(SVGNS, 'line', {'class': 'grid', x1: x, x2: x, y1: TOP - 4, y2: H}, g);
    text(el(SVGNS, 'text', {x: x + 2, y: 12}, g), fmt(span * i / 10));
  }
  var dense = slices.length > MAX_RECTS;
  laneList.forEach(function (l, row) {
    var y = TOP + row * ROW;
    text(el(SVGNS, 'text', {x: 4, y: y + 12}, g), l.label);
    el(SVGNS, 'line', {'class': 'axis', x1: LABEL, x2: LABEL + plotW, y1: y + ROW - 1, y2: y + ROW - 1}, g);
    if (!dense) {
      l.slices.forEach(function (s) {
        var r = el(SVGNS, 'rect', {
          'class': s.cat === 'transfer' ? 'task xfer' : 'task',
          x: xOf(s.ts).toFixed(2), y: y + 2, height: ROW - 5,
          width: Math.max(0.5, s.dur / span * plotW).toFixed(2),
          fill: color(s.name, s.cat)}, g);
        var src = s.args && s.args.src ? ' ' + s.args.src : '';
        text(el(SVGNS, 'title', {}, r), s.name + src + ': ' + fmt(s.dur));
      });
      return;
    }
    /* merge runs of slices that fall within one pixel of each other */
    var cur = null;
    function flush() {
      if (!cur) return;
      var r = el(SVGNS, 'rect', {'class': 'task dense', x: cur.x0.toFixed(2), y: y + 2,
        height: ROW - 5, width: Math.max(0.5, cur.x1 - cur.x0).toFixed(2), fill: cur.fill}, g);
      text(el(SVGNS, 'title', {}, r), cur.n + ' slices');
    }
    l.slices.forEach(function (s) {
      var a = xOf(s.ts), b = xOf(s.ts + s.dur);
      if (cur && a <= cur.x1 + 1) {
        cur.x1 = Math.max(cur.x1, b);
        cur.n++;
        return;
      }
      flush();
      cur = {x0: a, x1: b, n: 1, fill: color(s.name, s.cat)};
    });
    flush();
  });
  if (dense)
    text(el(null, 'p', {'class': 'note'}, document.getElementById('gantt')),
         slices.length + ' slices: runs closer than a pixel are merged; open the trace in ' +
         'Perfetto (ui.perfetto.dev) or chrome://tracing to zoom in.');

  /* ---- utilisation: union of busy intervals per lane, in bins ---- */
  var NB = 300, bins = new Float64Array(NB), bw = span / NB, busyLanes = 0;
  var laneBusy = {};
  laneList.forEach(function (l) {
    var end = -Infinity, busy = 0, any = false;
    l.slices.forEach(function (s) {
      if (s.cat !== 'task' && s.cat !== 'device' && s.cat !== 'transfer') return;
      any = true;
      var a = Math.max(s.ts, end), b = s.ts + s.dur;
      if (b <= a) return;
      end = b;
      busy += b - a;
      for (var k = Math.floor((a - t0) / bw); k < NB && t0 + k * bw < b; k++) {
        var lo = Math.max(a, t0 + k * bw), hi = Math.min(b, t0 + (k + 1) * bw);
        if (hi > lo) bins[k] += hi - lo;
      }
    });
    if (any) busyLanes++;
    laneBusy[l.key] = busy;
  });
  var UH = 120, u = el(SVGNS, 'svg', {width: W, height: UH + 24}, document.getElementById('util'));
  var pts = [LABEL + ',' + (UH + 4)];
  for (var k = 0; k < NB; k++) {
    var frac = busyLanes ? bins[k] / (bw * busyLanes) : 0;
    var yv = 4 + UH * (1 - Math.min(1, frac));
    pts.push((LABEL + plotW * k / NB).toFixed(1) + ',' + yv.toFixed(1));
    pts.push((LABEL + plotW * (k + 1) / NB).toFixed(1) + ',' + yv.toFixed(1));
  }
  pts.push((LABEL + plotW) + ',' + (UH + 4));
  el(SVGNS, 'polygon', {'class': 'util', points: pts.join(' ')}, u);
  [0, 50, 100].forEach(function (p) {
    var yy = 4 + UH * (1 - p / 100);
    el(SVGNS, 'line', {'class': 'grid', x1: LABEL, x2: LABEL + plotW, y1: yy, y2: yy}, u);
    text(el(SVGNS, 'text', {x: LABEL - 40, y: yy + 4}, u), p + '%');
  });
  text(el(SVGNS, 'text', {x: 4, y: 16}, u), 'busy lanes / ' + busyLanes);
  text(el(SVGNS, 'text', {x: LABEL, y: UH + 20}, u), fmt(0));
  text(el(SVGNS, 'text', {x: LABEL + plotW - 60, y: UH + 20}, u), fmt(span));

  /* ---- tables ---- */
  function table(parent, head, rows) {
    var t = el(null, 'table', {}, parent), tr = el(null, 'tr', {}, t);
    head.forEach(function (h, c) {
      var th = text(el(null, 'th', {}, tr), h);
      th.onclick = function () { sortBy(c); };
    });
    var body = [];
    function render() {
      body.forEach(function (r) { t.removeChild(r); });
      body = rows.map(function (r) {
        var row = el(null, 'tr', {}, t);
        r.forEach(function (v) {
          var td = el(null, 'td', {}, row);
          if (v && v.bar !== undefined) {
            el(null, 'span', {'class': 'bar', style: 'width:' + Math.round(v.bar * 100) + 'px'}, td);
            text(td, ' ' + (v.bar * 100).toFixed(1) + '%');
          } else text(td, typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v));
        });
        return row;
      });
    }
    function key(v) { return v && v.bar !== undefined ? v.bar : v; }
    function sortBy(c) {
      rows.sort(function (a, b) {
        var x = key(a[c]), y = key(b[c]);
        return typeof x === 'number' ? y - x : String(x).localeCompare(String(y));
      });
      render();
    }
    render();
  }
  table(document.getElementById('lanes'), ['lane', 'slices', 'busy ms', 'busy'],
        laneList.map(function (l) {
          return [l.label, l.slices.length, laneBusy[l.key] / 1e3, {bar: laneBusy[l.key] / span}];
        }));
  var byName = {}, total = 0;
  tasks.forEach(function (s) {
    var b = byName[s.name] || (byName[s.name] = {n: 0, sum: 0, min: Infinity, max: 0, lanes: {}});
    b.n++; b.sum += s.dur; total += s.dur;
    if (s.dur < b.min) b.min = s.dur;
    if (s.dur > b.max) b.max = s.dur;
    b.lanes[s.pid + ':' + s.tid] = 1;
  });
  var rows = Object.keys(byName).map(function (n) {
    var b = byName[n];
    return [n, b.n, b.sum / 1e3, b.sum / b.n, b.min, b.max, Object.keys(b.lanes).length,
            {bar: total ? b.sum / total : 0}];
  });
  rows.sort(function (a, b) { return b[2] - a[2]; });
  table(document.getElementById('stats'),
        ['name', 'count', 'total ms', 'mean us', 'min us', 'max us', 'lanes', 'share of task time'],
        rows);
})();
