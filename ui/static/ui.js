// feast ui: keyboard shortcuts and lineage zoom. Pages work without it.
"use strict";
document.addEventListener("keydown", function (e) {
  var t = e.target, typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT");
  if (e.key === "/" && !typing) { var q = document.getElementById("q"); if (q) { e.preventDefault(); q.focus(); q.select(); } }
});
(function () {
  var svg = document.getElementById("lineage-svg"), box = document.getElementById("lineage");
  if (!svg || !box) { return; }
  var w0 = svg.width.baseVal.value, h0 = svg.height.baseVal.value, scale = 1;
  function apply() { svg.setAttribute("width", Math.round(w0 * scale)); svg.setAttribute("height", Math.round(h0 * scale)); }
  function zoom(f) { scale = Math.min(4, Math.max(0.1, f === 0 ? Math.min(1, box.clientWidth / w0) : scale * f)); apply(); }
  document.querySelectorAll("[data-zoom]").forEach(function (b) {
    b.addEventListener("click", function () { var z = b.getAttribute("data-zoom"); zoom(z === "in" ? 1.25 : z === "out" ? 0.8 : 0); });
  });
  document.addEventListener("keydown", function (e) {
    var t = e.target; if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA")) { return; }
    if (e.key === "+" || e.key === "=") { zoom(1.25); } else if (e.key === "-") { zoom(0.8); } else if (e.key === "0") { zoom(0); }
  });
  box.addEventListener("wheel", function (e) { if (e.ctrlKey || e.metaKey) { e.preventDefault(); zoom(e.deltaY < 0 ? 1.1 : 0.9); } }, { passive: false });
  var drag = null;
  box.addEventListener("mousedown", function (e) { if (e.target.closest("a")) { return; } drag = { x: e.clientX, y: e.clientY, l: box.scrollLeft, t: box.scrollTop }; });
  window.addEventListener("mousemove", function (e) { if (drag) { box.scrollLeft = drag.l - (e.clientX - drag.x); box.scrollTop = drag.t - (e.clientY - drag.y); } });
  window.addEventListener("mouseup", function () { drag = null; });
  var f = svg.querySelector(".focus");
  if (f && f.scrollIntoView) { f.scrollIntoView({ block: "center", inline: "nearest" }); }
})();
