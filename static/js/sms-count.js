// The message editor: the length of a text message as it is typed (its characters, its
// encoding and how many segments it is sent in), and only the fields of the chosen
// channel shown. Counted as campaigns/sms_text.py counts: GSM-7 (160 septets in one
// segment, 153 each in several; the extension table's characters take two) unless any
// character is outside the GSM alphabet, then UCS-2 (70 UTF-16 units, 67 each in several).
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENDED = "^{}\\[~]|€\f";
  var LIMITS = { "GSM-7": [160, 153], "UCS-2": [70, 67] };

  function measure(text) {
    var chars = Array.from(text);
    var gsm = chars.every(function (ch) {
      return BASIC.indexOf(ch) >= 0 || EXTENDED.indexOf(ch) >= 0;
    });
    var encoding = gsm ? "GSM-7" : "UCS-2";
    var sizes = chars.map(function (ch) {
      if (gsm) { return EXTENDED.indexOf(ch) >= 0 ? 2 : 1; }
      return ch.length; // a character beyond the BMP is a surrogate pair: two units
    });
    var total = sizes.reduce(function (a, b) { return a + b; }, 0);
    var single = LIMITS[encoding][0], each = LIMITS[encoding][1];
    var segments = 0;
    if (total > 0 && total <= single) {
      segments = 1;
    } else if (total > single) {
      segments = 1;
      var used = 0;
      sizes.forEach(function (size) {
        if (used + size > each) { segments += 1; used = 0; }
        used += size;
      });
    }
    return { encoding: encoding, characters: chars.length, segments: segments };
  }

  function describe(text) {
    var m = measure(text);
    return m.characters + " characters · " + m.encoding + " · " + m.segments +
      " segment" + (m.segments === 1 ? "" : "s");
  }

  function wrapper(id) {
    var input = document.getElementById(id);
    return input ? input.closest(".field") : null;
  }

  function setUp() {
    var channel = document.getElementById("id_channel");
    var body = document.getElementById("id_body_text");
    var counter = document.getElementById("sms-count");
    if (!channel || !body || !counter) { return; }
    var emailOnly = ["id_subject", "id_body_html"].map(wrapper).filter(Boolean);
    var label = document.querySelector("label[for='id_body_text']");
    var emailLabel = label ? label.textContent : "";
    function update() {
      var sms = channel.value === "sms";
      emailOnly.forEach(function (el) { el.hidden = sms; });
      if (label) { label.textContent = sms ? "Text message" : emailLabel; }
      counter.hidden = !sms;
      counter.textContent = describe(body.value);
    }
    channel.addEventListener("change", update);
    body.addEventListener("input", update);
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
