// The review queue's keyboard shortcuts: a accept, r reject, j next pair, k previous.
// Each sends what the control marked data-shortcut="<key>" in the pair shown would send,
// through htmx.ajax: a pair swapped in a moment ago may not be wired up by htmx yet, and
// a plain click would then submit the whole page. One request at a time.
(function () {
  var busy = false;
  document.addEventListener("htmx:afterSwap", function () { busy = false; });
  document.addEventListener("htmx:responseError", function () { busy = false; });
  document.addEventListener("htmx:sendError", function () { busy = false; });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || busy || !window.htmx) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var control = document.querySelector('#pair [data-shortcut="' + event.key + '"]');
    if (!control || control.disabled) return;
    event.preventDefault();
    busy = true;
    var form = control.closest("form");
    var swap = { target: "#pair", swap: "outerHTML" };
    if (form) {
      window.htmx.ajax("POST", form.getAttribute("hx-post"), Object.assign({ source: form }, swap));
    } else {
      window.htmx.ajax("GET", control.getAttribute("hx-get"), Object.assign({ source: control }, swap));
    }
  });
})();
