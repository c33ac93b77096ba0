(function () {
  "use strict";
  var src = document.getElementById("onnxstat-nodes");
  if (!src) return;
  var data = JSON.parse(src.textContent);
  var cols = data.columns, rows = data.rows, details = data.details || [];
  var col = {};
  cols.forEach(function (c, i) { col[c.key] = i; });
  var NUMERIC = { int: 1, count: 1, bytes: 1, float: 1, seconds: 1 };
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  var state = { key: null, dir: 1, op: "", q: "", page: 0, size: data.pageSize || 100, open: {} };
  var view = null;
  var keyCache = {};

  var tbody = document.getElementById("node-rows");
  var table = document.getElementById("node-table");
  var heads = table.querySelectorAll("thead th");
  var info = document.getElementById("page-info");
  var countEl = document.getElementById("node-count");
  var filterEl = document.getElementById("node-filter");
  var opEl = document.getElementById("op-filter");
  var sizeEl = document.getElementById("page-size");

  // ---------------------------------------------------------------- formatting (as onnxstat.units)
  var INT_RE = /^-?\d+$/;
  function num(v) {
    if (v === null || v === undefined || v === "") return null;
    var x = Number(v);
    return isFinite(x) ? x : null;
  }
  function scaled(x, steps, digits, unitSuffix) {
    for (var i = 0; i < steps.length; i++) {
      if (Math.abs(x) >= steps[i][0]) return (x / steps[i][0]).toFixed(digits) + " " + steps[i][1] + unitSuffix;
    }
    return null;
  }
  var SI = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "K"]];
  var BY = [[1e12, "TB"], [1e9, "GB"], [1e6, "MB"], [1e3, "KB"]];
  function si(v) {
    var x = num(v);
    if (x === null) return v === null || v === undefined ? "-" : String(v);
    return scaled(x, SI, 2, "") || (Number.isInteger(x) ? String(x) : x.toFixed(2));
  }
  function nbytes(v) {
    var x = num(v);
    if (x === null) return v === null || v === undefined ? "-" : String(v);
    return scaled(x, BY, 2, "") || (Math.trunc(x) + " B");
  }
  function seconds(v) {
    var x = num(v);
    if (x === null) return "-";
    if (x >= 1) return x.toFixed(3) + " s";
    if (x >= 1e-3) return (x * 1e3).toFixed(3) + " ms";
    if (x >= 1e-6) return (x * 1e6).toFixed(2) + " µs";
    if (x >= 1e-9) return (x * 1e9).toFixed(2) + " ns";
    if (x === 0) return "0 s";
    return (x * 1e12).toFixed(2) + " ps";
  }
  function exactText(v) {
    if (typeof v === "number" && Number.isInteger(v)) return v.toLocaleString("en-US");
    if (typeof v === "string" && INT_RE.test(v)) return BigInt(v).toLocaleString("en-US");
    return v === null || v === undefined ? "" : String(v);
  }
  function fmt(type, v) {
    switch (type) {
      case "count": return si(v);
      case "bytes": return nbytes(v);
      case "seconds": return seconds(v);
      case "float": var x = num(v); return x === null ? "-" : x.toFixed(2);
      case "int": return v === null || v === undefined ? "-" : String(v);
      default: return v === null || v === undefined ? "" : String(v);
    }
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // ---------------------------------------------------------------- sort keys (exact)
  // Integers up to 2**53-1 are JSON numbers; larger ones are decimal strings, compared as
  // BigInt (JavaScript compares Number and BigInt exactly).  Non-numeric values sort last.
  function sortKey(v, type) {
    if (!NUMERIC[type]) return v === null || v === undefined ? null : String(v);
    if (typeof v === "number") return isFinite(v) ? v : null;
    if (typeof v === "string") {
      if (INT_RE.test(v)) return BigInt(v);
      var x = Number(v);
      return v.trim() !== "" && isFinite(x) ? x : null;
    }
    return null;
  }
  function keysFor(key) {
    if (!keyCache[key]) {
      var i = col[key], type = cols[i].type;
      keyCache[key] = rows.map(function (r) { return sortKey(r[i], type); });
    }
    return keyCache[key];
  }

  // ---------------------------------------------------------------- view
  function compute() {
    var q = state.q.toLowerCase(), op = state.op;
    var iPath = col.path, iOp = col.op;
    var out = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (op && r[iOp] !== op) continue;
      if (q && String(r[iPath]).toLowerCase().indexOf(q) < 0 && String(r[iOp]).toLowerCase().indexOf(q) < 0) continue;
      out.push(i);
    }
    if (state.key !== null) {
      var keys = keysFor(state.key), dir = state.dir;
      var numeric = !!NUMERIC[cols[col[state.key]].type];
      out.sort(function (a, b) {
        var ka = keys[a], kb = keys[b];
        if (ka === null || kb === null) {
          if (ka === kb) return a - b;
          return ka === null ? 1 : -1;  // missing values last in both directions
        }
        var c = numeric ? (ka < kb ? -1 : ka > kb ? 1 : 0) : collator.compare(ka, kb);
        return c !== 0 ? c * dir : a - b;
      });
    }
    view = out;
  }

  function pages() { return Math.max(1, Math.ceil(view.length / state.size)); }

  function rowHtml(idx) {
    var r = rows[idx], h = [];
    var cls = "node";
    var d = details[idx];
    if (d && d[2] === "unsupported") cls += " unsupported";
    if (state.open[idx]) cls += " open";
    h.push('<tr class="' + cls + '" data-index="' + idx + '">');
    for (var i = 0; i < cols.length; i++) {
      var c = cols[i], v = r[i], type = c.type;
      if (NUMERIC[type]) {
        var z = (type !== "int" && (v === 0 || v === "0")) ? " zero" : "";
        var ex = exactText(v);
        h.push('<td class="num' + z + '" data-key="' + c.key + '" data-value="' + esc(v === null || v === undefined ? "" : v) +
               '"' + (ex && type !== "int" ? ' title="' + esc(ex) + '"' : "") + ">" + esc(fmt(type, v)) + "</td>");
      } else if (c.key === "path") {
        h.push('<td class="path" data-key="path" title="' + esc(v) + '">' + esc(v) + "</td>");
      } else if (c.key === "bound" && v) {
        h.push('<td data-key="bound" data-value="' + esc(v) + '"><span class="btag ' + esc(v) + '">' + esc(v) + "</span></td>");
      } else {
        h.push('<td data-key="' + c.key + '">' + esc(fmt(type, v)) + "</td>");
      }
    }
    h.push("</tr>");
    if (state.open[idx] && d) {
      h.push('<tr class="detail"><td colspan="' + cols.length + '"><dl>' +
        "<dt>inputs</dt><dd>" + esc(d[0] || "-") + "</dd>" +
        "<dt>outputs</dt><dd>" + esc(d[1] || "-") + "</dd>" +
        "<dt>kind</dt><dd>" + esc(d[2] || "-") + (d[4] !== 1 && d[4] !== undefined ? " (repeated " + esc(d[4]) + "×)" : "") + "</dd>" +
        (d[3] ? "<dt>notes</dt><dd>" + esc(d[3]) + "</dd>" : "") +
        "</dl></td></tr>");
    }
    return h.join("");
  }

  function render() {
    var n = pages();
    if (state.page >= n) state.page = n - 1;
    if (state.page < 0) state.page = 0;
    var start = state.page * state.size, end = Math.min(view.length, start + state.size);
    var h = [];
    for (var i = start; i < end; i++) h.push(rowHtml(view[i]));
    if (!view.length) h.push('<tr><td class="empty" colspan="' + cols.length + '">' +
      (rows.length ? "No node matches the filter." : "The model has no nodes.") + "</td></tr>");
    tbody.innerHTML = h.join("");
    info.textContent = view.length ? ("Rows " + (start + 1).toLocaleString("en-US") + "–" + end.toLocaleString("en-US") +
      " of " + view.length.toLocaleString("en-US") + " · page " + (state.page + 1) + " of " + n) : "No rows";
    countEl.textContent = view.length === rows.length ? rows.length.toLocaleString("en-US") + " nodes"
      : view.length.toLocaleString("en-US") + " of " + rows.length.toLocaleString("en-US") + " nodes";
    document.querySelector('#pager [data-page="first"]').disabled = state.page === 0;
    document.querySelector('#pager [data-page="prev"]').disabled = state.page === 0;
    document.querySelector('#pager [data-page="next"]').disabled = state.page >= n - 1;
    document.querySelector('#pager [data-page="last"]').disabled = state.page >= n - 1;
    for (var j = 0; j < heads.length; j++) {
      var th = heads[j], k = th.getAttribute("data-key");
      var s = k === state.key ? (state.dir > 0 ? "ascending" : "descending") : "none";
      th.setAttribute("aria-sort", s);
      var arrow = th.querySelector(".arrow");
      if (arrow) arrow.textContent = s === "ascending" ? "▲" : s === "descending" ? "▼" : "";
    }
  }

  function update(resetPage) {
    if (resetPage) state.page = 0;
    compute();
    render();
  }

  // ---------------------------------------------------------------- events
  Array.prototype.forEach.call(heads, function (th) {
    th.addEventListener("click", function () {
      var k = th.getAttribute("data-key");
      var numeric = !!NUMERIC[cols[col[k]].type] && k !== "index";
      if (state.key === k) {
        state.dir = -state.dir;
      } else {
        state.key = k;
        state.dir = numeric ? -1 : 1;  // numbers: largest first; text: A to Z
      }
      if (k === "index" && state.dir === 1) { state.key = null; }  // back to graph order
      update(true);
    });
  });
  var timer = null;
  filterEl.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = filterEl.value.trim(); update(true); }, rows.length > 5000 ? 150 : 0);
  });
  opEl.addEventListener("change", function () { state.op = opEl.value; update(true); });
  sizeEl.value = String(state.size);
  if (sizeEl.value !== String(state.size)) sizeEl.value = "100";
  state.size = Number(sizeEl.value);
  sizeEl.addEventListener("change", function () {
    var first = state.page * state.size;
    state.size = Number(sizeEl.value);
    state.page = Math.floor(first / state.size);
    render();
  });
  document.getElementById("pager").addEventListener("click", function (e) {
    var b = e.target.closest("button[data-page]");
    if (!b || b.disabled) return;
    var p = b.getAttribute("data-page");
    if (p === "first") state.page = 0;
    else if (p === "prev") state.page -= 1;
    else if (p === "next") state.page += 1;
    else if (p === "last") state.page = pages() - 1;
    render();
  });
  tbody.addEventListener("click", function (e) {
    var tr = e.target.closest("tr.node");
    if (!tr) return;
    var idx = Number(tr.getAttribute("data-index"));
    if (state.open[idx]) delete state.open[idx]; else state.open[idx] = true;
    render();
  });
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[data-filter-op]");
    if (!a) return;
    state.op = a.getAttribute("data-filter-op");
    opEl.value = state.op;
    filterEl.value = "";
    state.q = "";
    update(true);
  });

  update(true);
})();
