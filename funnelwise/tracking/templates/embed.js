/* Funnelwise form "{{ slug }}": writes an iframe of the hosted form where this script stands. */
(function () {
  var script = document.currentScript;
  var formUrl = {{ form_url | tojson }};
  var here = new URLSearchParams(window.location.search);
  var query = new URLSearchParams({ embed: "1", page_url: window.location.href });
  {{ utm_fields | tojson }}.forEach(function (name) {
    if (here.get(name)) query.set(name, here.get(name));
  });
  // The web tracker's visitor id, so the form joins this visitor's history to the contact.
  var visitor = document.cookie.match(/(?:^|;\s*)fw_aid=([^;]+)/);
  if (visitor) query.set("fw_anonymous_id", decodeURIComponent(visitor[1]));
  var frame = document.createElement("iframe");
  frame.src = formUrl + "?" + query.toString();
  frame.title = {{ title | tojson }};
  frame.style.cssText = "display:block;width:100%;max-width:40rem;border:0;";
  frame.height = "640";
  script.parentNode.insertBefore(frame, script.nextSibling);
  window.addEventListener("message", function (event) {
    if (event.source === frame.contentWindow && event.data && event.data.fwFormHeight) {
      frame.height = String(event.data.fwFormHeight);
    }
  });
})();
