(function () {
  'use strict';
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };

  // Sortable tables: click (or Enter on) a header; data-type="num" sorts numbers.
  each(document.querySelectorAll('table.sortable'), function (table) {
    var body = table.tBodies[0];
    if (!body || !table.tHead) { return; }
    each(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      var sort = function () {
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        each(th.parentNode.cells, function (c) { c.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var num = th.getAttribute('data-type') === 'num';
        var key = function (row) {
          var c = row.cells[col];
          var t = c ? c.textContent.trim() : '';
          return num ? (parseFloat(t) || 0) : t.toLowerCase();
        };
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var r = x < y ? -1 : (x > y ? 1 : 0);
          return asc ? r : -r;
        });
        each(rows, function (r) { body.appendChild(r); });
      };
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); }
      });
    });
  });

  // Filters: hide the rows whose text does not contain the query.
  each(document.querySelectorAll('input.filter'), function (input) {
    var id = input.getAttribute('data-table');
    var table = document.getElementById(id);
    var count = document.getElementById(id + '-count');
    if (!table || !table.tBodies[0]) { return; }
    input.addEventListener('input', function () {
      var q = input.value.trim().toLowerCase();
      var rows = table.tBodies[0].rows, shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var hit = q === '' || rows[i].textContent.toLowerCase().indexOf(q) >= 0;
        rows[i].hidden = !hit;
        if (hit) { shown++; }
      }
      if (count) { count.textContent = q === '' ? String(rows.length) : shown + ' of ' + rows.length; }
    });
  });

  // Domain maps: fold and unfold groups, zoom, pan, highlight a network.
  each(document.querySelectorAll('svg.dmap'), function (svg) {
    var view = svg.parentNode;
    var tools = document.querySelector('.maptools[data-map="' + svg.id + '"]');
    var width = parseFloat(svg.getAttribute('width'));
    var height = parseFloat(svg.getAttribute('height'));
    var scale = 1;
    var num = function (el, name) { return parseFloat(el.getAttribute('data-' + name)) || 0; };

    var zoom = function (s, cx, cy) {
      var old = scale;
      scale = Math.min(4, Math.max(0.1, s));
      var px = (cx === undefined ? view.clientWidth / 2 : cx), py = (cy === undefined ? view.clientHeight / 2 : cy);
      var x = (view.scrollLeft + px) / old, y = (view.scrollTop + py) / old;
      svg.style.width = (width * scale) + 'px';
      svg.style.height = (height * scale) + 'px';
      view.scrollLeft = x * scale - px;
      view.scrollTop = y * scale - py;
    };

    // The same arithmetic as the Go layout, replayed after a fold changes.
    var relayout = function () {
      var gg = num(svg, 'gg'), gb = num(svg, 'gb'), y = num(svg, 'top'), head = y;
      each(svg.querySelectorAll(':scope > g.band'), function (band) {
        band.setAttribute('transform', 'translate(0,' + y + ')');
        head = y + num(band, 'hc');
        var gy = num(band, 'head'), last = 0;
        each(band.querySelectorAll(':scope > g.grp'), function (g) {
          var open = g.classList.contains('open');
          g.setAttribute('transform', 'translate(0,' + gy + ')');
          last = gy + num(g, open ? 'lsx' : 'ls');
          gy += num(g, open ? 'hx' : 'h') + gg;
        });
        var trunk = band.querySelector(':scope > line.btrunk');
        if (trunk) { trunk.setAttribute('y2', last); }
        y += gy + gb;
      });
      var main = document.getElementById(svg.id + '-trunk');
      if (main) { main.setAttribute('y2', head); }
      height = y + num(svg, 'm');
      svg.setAttribute('height', height);
      svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
      zoom(scale);
    };

    var fold = function (g, open) {
      g.classList.toggle('open', open);
      var more = g.querySelector(':scope > g.more');
      if (more) { more.setAttribute('display', open ? 'inline' : 'none'); }
      var t = g.querySelector(':scope > g.toggle');
      if (t) {
        t.setAttribute('aria-expanded', open ? 'true' : 'false');
        var label = t.querySelector('text');
        if (label) { label.textContent = open ? '\u25be show fewer' : '\u25b8 ' + g.getAttribute('data-n') + ' more hosts'; }
      }
    };

    each(svg.querySelectorAll('g.toggle'), function (t) {
      var g = t.parentNode;
      var flip = function () { fold(g, !g.classList.contains('open')); relayout(); };
      t.addEventListener('click', function (e) { e.stopPropagation(); flip(); });
      t.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); flip(); }
      });
    });

    if (tools) {
      each(tools.querySelectorAll('button[data-act]'), function (b) {
        b.addEventListener('click', function () {
          switch (b.getAttribute('data-act')) {
            case 'in': zoom(scale * 1.25); break;
            case 'out': zoom(scale / 1.25); break;
            case 'reset': zoom(1); break;
            case 'fit': zoom((view.clientWidth - 4) / width, 0, 0); break;
            case 'open':
            case 'close':
              each(svg.querySelectorAll('g.grp'), function (g) {
                if (g.querySelector(':scope > g.toggle')) { fold(g, b.getAttribute('data-act') === 'open'); }
              });
              relayout();
              break;
          }
        });
      });
    }

    view.addEventListener('wheel', function (e) {
      if (!e.ctrlKey) { return; }
      e.preventDefault();
      var r = view.getBoundingClientRect();
      zoom(scale * (e.deltaY < 0 ? 1.15 : 1 / 1.15), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });

    var drag = null;
    view.addEventListener('pointerdown', function (e) {
      if (e.button !== 0 || (e.target.closest && e.target.closest('a, g.toggle'))) { return; }
      drag = { x: e.clientX, y: e.clientY, l: view.scrollLeft, t: view.scrollTop };
      view.classList.add('dragging');
    });
    window.addEventListener('pointermove', function (e) {
      if (!drag) { return; }
      view.scrollLeft = drag.l - (e.clientX - drag.x);
      view.scrollTop = drag.t - (e.clientY - drag.y);
    });
    window.addEventListener('pointerup', function () { drag = null; view.classList.remove('dragging'); });

    // Hovering a network or an address lights up that network everywhere.
    var lit = [];
    svg.addEventListener('mouseover', function (e) {
      var n = e.target.closest ? e.target.closest('[data-net]') : null;
      each(lit, function (el) { el.classList.remove('hl'); });
      lit = [];
      if (!n) { return; }
      var net = n.getAttribute('data-net');
      each(svg.querySelectorAll('[data-net]'), function (el) {
        if (el.getAttribute('data-net') === net) { el.classList.add('hl'); lit.push(el); }
      });
    });
  });
}());
