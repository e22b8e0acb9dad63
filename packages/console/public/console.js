// tunvs console: live figures (one /api/status poll per sample interval), the age of every
// figure, and the chart of the last minutes (uPlot, served locally). Forms work without it.
(function () {
  'use strict';
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  function fmt(n, unit) {
    if (typeof n !== 'number' || !isFinite(n)) return '—';
    var a = Math.abs(n), s;
    if (a >= 1e9) s = (n / 1e9).toFixed(2) + 'G';
    else if (a >= 1e6) s = (n / 1e6).toFixed(2) + 'M';
    else if (a >= 1e4) s = (n / 1e3).toFixed(1) + 'K';
    else s = Number.isInteger(n) ? String(n) : n.toFixed(1);
    return s + (unit || '');
  }
  function ages() {
    var now = Date.now();
    document.querySelectorAll('.age[data-at]').forEach(function (el) {
      var at = Number(el.getAttribute('data-at'));
      if (!at) return;
      var s = Math.max(0, (now - at) / 1000);
      el.textContent = (s < 60 ? s.toFixed(1) + ' s' : Math.floor(s / 60) + ' min ' + Math.floor(s % 60) + ' s') + ' ago';
    });
  }
  setInterval(ages, 500);
  ages();
  function setField(row, field, text) {
    var el = row.querySelector('[data-field="' + field + '"]');
    if (el && el.textContent !== text) el.textContent = text;
    return el;
  }
  function healthOf(status, svcKey, addr) {
    var h = (status.health || []).filter(function (x) { return x.addr + ':' + x.port === addr; });
    if (!h.length || !h[0].checked) return { word: 'not checked', cls: 'unchecked' };
    return h[0].up ? { word: 'up', cls: 'up' } : { word: 'DOWN', cls: 'down' };
  }
  function update(status) {
    (status.services || []).forEach(function (s) {
      var body = document.querySelector('tbody[data-service="' + CSS.escape(s.key) + '"]') || document.querySelector('table[data-service="' + CSS.escape(s.key) + '"] tbody');
      if (!body) return;
      var svcRow = body.querySelector('tr.svc');
      if (svcRow) {
        setField(svcRow, 'conns', fmt(s.conns));
        setField(svcRow, 'cps', fmt(s.rates.cps, '/s'));
        setField(svcRow, 'pps', fmt(s.rates.pps, '/s'));
        setField(svcRow, 'bps', fmt(s.rates.bps, 'B/s'));
        setField(svcRow, 'active', fmt(s.dests.reduce(function (a, d) { return a + d.activeConns; }, 0)));
        setField(svcRow, 'inactive', fmt(s.dests.reduce(function (a, d) { return a + d.inactConns; }, 0)));
      }
      s.dests.forEach(function (d) {
        var row = body.querySelector('tr[data-dest="' + d.addr + ':' + d.port + '"]');
        if (!row) return;
        setField(row, 'conns', fmt(d.conns));
        setField(row, 'cps', fmt(d.rates.cps, '/s'));
        setField(row, 'pps', fmt(d.rates.pps, '/s'));
        setField(row, 'bps', fmt(d.rates.bps, 'B/s'));
        setField(row, 'active', fmt(d.activeConns));
        setField(row, 'inactive', fmt(d.inactConns));
        setField(row, 'weight', String(d.weight));
        var h = healthOf(status, s.key, d.addr + ':' + d.port);
        var cell = setField(row, 'health', h.word);
        if (cell) cell.className = 'health ' + h.cls;
        var hl = (status.health || []).filter(function (x) { return x.addr + ':' + x.port === d.addr + ':' + d.port; })[0];
        if (hl) setField(row, 'lasterror', hl.checkers.filter(function (c) { return c.lastOk === false; }).map(function (c) { return c.type + ': ' + c.lastDetail; }).join('; '));
      });
    });
    // health of every row shown, also of real servers the checks took out of the pool
    (status.health || []).forEach(function (h) {
      document.querySelectorAll('tr[data-dest="' + h.addr + ':' + h.port + '"] [data-field="health"]').forEach(function (cell) {
        var w = !h.checked ? ['not checked', 'unchecked'] : h.up ? ['up', 'up'] : ['DOWN', 'down'];
        if (cell.textContent !== w[0]) cell.textContent = w[0];
        cell.className = 'health ' + w[1];
      });
    });
    document.querySelectorAll('.age[data-at]').forEach(function (el) {
      if (!el.closest('[data-keep-age]')) el.setAttribute('data-at', String(status.at));
    });
    var ct = document.querySelector('[data-field="ct"]');
    if (ct && status.conntrack) ct.textContent = status.conntrack.size + ' / ' + status.conntrack.capacity;
    var dc = document.getElementById('down-count');
    if (dc) {
      var checked = (status.health || []).filter(function (h) { return h.checked; });
      dc.textContent = checked.filter(function (h) { return !h.up; }).length + ' of ' + checked.length + ' checked';
    }
    ages();
  }
  var live = document.querySelector('tbody[data-service], table[data-service]');
  var interval = Number((document.querySelector('meta[name="refresh-ms"]') || {}).content) || 1000;
  function poll() {
    fetch('/api/status?limit=1000', { headers: { 'X-CSRF-Token': csrf }, credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) update(s); })
      .catch(function () {})
      .finally(function () { setTimeout(poll, interval); });
  }
  if (live) setTimeout(poll, 300);

  // the chart of the last minutes
  var chartEl = document.getElementById('chart');
  var select = document.getElementById('chart-service');
  var plot = null;
  function drawChart() {
    if (!chartEl || !select || !select.value || typeof uPlot === 'undefined') return;
    fetch('/api/history?service=' + encodeURIComponent(select.value), { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j || !j.history) return;
        var h = j.history;
        var data = [h.t, h.cps, h.pps, h.bps];
        if (!plot) {
          plot = new uPlot({
            width: Math.min(chartEl.clientWidth || 900, 1200), height: 240,
            series: [{}, { label: 'conn/s', stroke: '#0b5cad' }, { label: 'pkt/s', stroke: '#1a7f37' }, { label: 'bytes/s', stroke: '#9a6700', scale: 'b' }],
            axes: [{}, { label: 'per second' }, { side: 1, scale: 'b', label: 'bytes/s', grid: { show: false } }],
          }, data, chartEl);
        } else plot.setData(data);
      })
      .catch(function () {})
      .finally(function () { setTimeout(drawChart, 2000); });
  }
  if (select) {
    select.addEventListener('change', function () { if (plot) { plot.destroy(); plot = null; } });
    window.addEventListener('load', drawChart);
  }
})();
