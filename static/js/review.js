// The review queue's keyboard shortcuts: a accept, r reject, j next pair, k previous.
// Each presses the control marked data-shortcut="<key>" in the pair shown (htmx swaps
// the pair after a decision, so the controls are looked up at each key press).
(function () {
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var control = document.querySelector('#pair [data-shortcut="' + event.key + '"]');
    if (!control || control.disabled || document.querySelector("#pair.htmx-request")) return;
    event.preventDefault();
    control.click();
  });
})();
