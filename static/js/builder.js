// Segment builder: after the server re-renders the rule tree (adding or removing a
// condition, group or filter), move focus to the element it marked with data-focus.
// Native `autofocus` is not used: browsers apply it late and only once per page.
(function () {
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "builder-body") return;
    var element = target.querySelector("[data-focus]");
    if (element) {
      element.removeAttribute("data-focus");
      element.focus();
    }
  });
})();
