/*
 * cdp.js: the website snippet of the customer data platform.
 *
 * Dependency-free ES2017, served as is (no build step). The copy-paste loader on a
 * website source's page defines a queueing window.cdp, then loads this file async with
 * data-write-key and data-host (and optionally data-require-consent="true"); calls made
 * before it loaded are replayed here. Messages follow the Segment spec and go in batches
 * to {host}/v1/batch, so the server treats them like any other SDK's.
 */
(function () {
  "use strict";

  const VERSION = "1.0.0";
  const stub = window.cdp;
  if (stub && stub.loaded) return; // included twice: the first copy owns the queue

  const script = document.currentScript || document.querySelector("script[data-write-key]");
  const config = (script && script.dataset) || {};
  const writeKey = config.writeKey;
  const host = (config.host || (script ? new URL(script.src).origin : "")).replace(/\/+$/, "");
  const requireConsent = config.requireConsent === "true";

  // A page view and the events right after it share one request: the queue is sent 1 s
  // after its first message, or at once when 20 wait.
  const FLUSH_DELAY = 1000;
  const FLUSH_AT = 20;
  const BATCH_BYTES = 400 * 1024; // the API takes 500 KB a batch; leave room for the envelope
  const BEACON_BYTES = 60 * 1024; // Chrome refuses beacons beyond 64 KB in flight
  const MAX_QUEUE = 1000; // during a long outage the oldest go, so localStorage never fills up
  const RETRY_MAX = 5 * 60 * 1000; // backoff and Retry-After capped, as in the official SDKs
  const COOKIE_MAX_AGE = 365 * 24 * 3600;
  const KEYS = {
    anonymousId: "cdp_anonymous_id",
    userId: "cdp_user_id",
    verification: "cdp_identity_verification",
    queue: "cdp_queue",
    consent: "cdp_consent",
  };

  // Storage: localStorage may be missing or throw (privacy modes, quota); the snippet then
  // keeps working from memory and the cookie instead of breaking the customer's page.
  function load(name, fallback) {
    try {
      const value = localStorage.getItem(name);
      return value === null ? fallback : JSON.parse(value);
    } catch (e) {
      return fallback;
    }
  }
  function save(name, value) {
    try {
      if (value === null) localStorage.removeItem(name);
      else localStorage.setItem(name, JSON.stringify(value));
    } catch (e) {
      /* memory only */
    }
  }
  function readCookie(name) {
    const match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }
  function writeCookie(name, value, maxAge) {
    const secure = location.protocol === "https:" ? "; Secure" : "";
    const attributes = `; path=/; max-age=${maxAge}; SameSite=Lax${secure}`;
    document.cookie = name + "=" + encodeURIComponent(value) + attributes;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // randomUUID only exists on https pages; getRandomValues works everywhere.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }

  let anonymousId = readCookie(KEYS.anonymousId) || load(KEYS.anonymousId, null);
  let userId = load(KEYS.userId, null);
  // The signature the site's backend made for this user (identity verification): sent
  // with every message that carries the user id, so the server believes that id.
  let verification = load(KEYS.verification, null);
  let consent = load(KEYS.consent, null); // null until the site calls cdp.consent()
  // What an earlier page left unsent is sent from here (two tabs may both send it: the
  // server keeps one per messageId), unless consent was withdrawn since on another page.
  let queue = load(KEYS.queue, []);
  if (!Array.isArray(queue) || !allowed()) queue = [];

  function allowed() {
    const analytics = consent ? consent.analytics : undefined;
    return analytics === true || (analytics === undefined && !requireConsent);
  }

  // Read either store, write both: a cleared cookie or a cleared localStorage alone does
  // not turn a returning visitor into a new one. Only called while tracking is allowed,
  // so nothing is stored on the device before consent.
  function currentAnonymousId() {
    anonymousId = anonymousId || uuid();
    writeCookie(KEYS.anonymousId, anonymousId, COOKIE_MAX_AGE);
    save(KEYS.anonymousId, anonymousId);
    return anonymousId;
  }

  function pageInfo() {
    return {
      path: location.pathname,
      referrer: document.referrer,
      search: location.search,
      title: document.title,
      url: location.href,
    };
  }

  function context() {
    const ctx = {
      page: pageInfo(),
      userAgent: navigator.userAgent,
      locale: navigator.language,
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      library: { name: "cdp.js", version: VERSION },
    };
    if (consent) ctx.consent = { categoryPreferences: Object.assign({}, consent) };
    if (userId && verification) ctx.identityVerification = Object.assign({}, verification);
    return ctx;
  }

  function enqueue(type, fields) {
    if (!allowed()) return; // consent withheld: dropped, not queued for later
    const message = Object.assign(
      {
        type,
        // Set once, here: a retried message keeps its id and the server stores it once.
        messageId: uuid(),
        timestamp: new Date().toISOString(),
        anonymousId: currentAnonymousId(),
        context: context(),
      },
      fields
    );
    if (userId) message.userId = userId;
    queue.push(message);
    if (queue.length > MAX_QUEUE) queue.splice(0, queue.length - MAX_QUEUE);
    save(KEYS.queue, queue);
    schedule(queue.length >= FLUSH_AT ? 0 : FLUSH_DELAY);
  }

  // Sending -------------------------------------------------------------------------------

  let timer = null;
  let timerAt = Infinity;
  let inFlight = false;
  let attempts = 0; // failed sends in a row, for the backoff
  let retryAt = 0; // nothing is sent before this (backoff or the server's Retry-After)

  // A throttle rather than a pure debounce: later messages never push an armed flush back,
  // so a chatty page still sends about once a second.
  function schedule(delay) {
    const at = Math.max(Date.now() + delay, retryAt);
    if (inFlight || at >= timerAt) return; // a running flush reschedules itself when done
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(flush, at - Date.now());
  }

  const bytes = (text) => new TextEncoder().encode(text).length;

  // The oldest messages that fit in maxBytes (always at least one, so an oversize message
  // gets its answer from the server instead of blocking the queue).
  function take(maxBytes) {
    const batch = [];
    let size = 0;
    for (const message of queue) {
      size += bytes(JSON.stringify(message)) + 1;
      if (batch.length && size > maxBytes) break;
      batch.push(message);
    }
    return batch;
  }

  function body(batch) {
    // sentAt is stamped per attempt: the server measures the device's clock skew with it.
    return JSON.stringify({ writeKey, sentAt: new Date().toISOString(), batch });
  }

  // Removal is by messageId because the queue may change while a request is out
  // (new messages, a beacon, withdrawn consent).
  function remove(batch) {
    const sent = new Set(batch.map((m) => m.messageId));
    queue = queue.filter((m) => !sent.has(m.messageId));
    save(KEYS.queue, queue.length ? queue : null);
  }

  function retryAfter(response) {
    // Readable cross-origin only if the server lists it in Access-Control-Expose-Headers.
    const value = response.headers.get("Retry-After");
    if (!value) return null;
    const seconds = Number(value);
    const ms = Number.isNaN(seconds) ? Date.parse(value) - Date.now() : seconds * 1000;
    return Number.isNaN(ms) ? null : Math.min(Math.max(ms, 0), RETRY_MAX);
  }

  function backoff() {
    // 1 s, 2 s, 4 s ... with jitter so that many browsers do not return at the same moment.
    return Math.min(1000 * 2 ** (attempts - 1), RETRY_MAX) * (0.5 + Math.random() / 2);
  }

  async function report(response, batch) {
    let detail = "";
    try {
      const error = await response.json();
      detail = " " + error.code + ": " + error.message;
    } catch (e) {
      /* not our JSON error body */
    }
    console.warn(
      `cdp.js: the server refused ${batch.length} message(s) (HTTP ${response.status})${detail}; ` +
        "they are dropped, as sending them again would fail the same way."
    );
  }

  async function flush() {
    timer = null;
    timerAt = Infinity;
    if (inFlight || !queue.length) return;
    const batch = take(BATCH_BYTES);
    let retryDelay = null;
    inFlight = true;
    try {
      // text/plain keeps this a "simple" CORS request: no preflight round trip.
      const response = await fetch(host + "/v1/batch", {
        method: "POST",
        headers: { "Content-Type": "text/plain" },
        body: body(batch),
        credentials: "omit",
      });
      if (response.status === 429 || response.status >= 500) {
        attempts += 1;
        const asked = retryAfter(response);
        retryDelay = asked === null ? backoff() : asked;
      } else {
        // Success, or a 4xx that the same request would get again: either way it is done.
        if (!response.ok) await report(response, batch);
        attempts = 0;
        remove(batch);
      }
    } catch (e) {
      // Offline, DNS, connection reset: the messages stay queued (and in localStorage).
      attempts += 1;
      retryDelay = backoff();
    } finally {
      inFlight = false;
    }
    retryAt = retryDelay === null ? 0 : Date.now() + retryDelay;
    if (queue.length) schedule(retryDelay !== null || queue.length >= FLUSH_AT ? 0 : FLUSH_DELAY);
  }

  // The page may never come back: hand the queue to the browser, which sends beacons even
  // after the page is gone. A message also still in a pending fetch may go twice; the
  // server keeps one per messageId. While the server asked us to back off, the queue stays
  // in localStorage for the next page instead.
  function sendOnHide() {
    if (!navigator.sendBeacon || Date.now() < retryAt) return;
    while (queue.length) {
      const batch = take(BEACON_BYTES);
      if (!navigator.sendBeacon(host + "/v1/batch", body(batch))) break; // over the quota
      remove(batch);
    }
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") sendOnHide();
  });
  window.addEventListener("pagehide", sendOnHide);

  // Personalisation ---------------------------------------------------------------------------

  // What a visitor with nothing to show gets (the server answers the same shape): used when
  // there is no id to ask about yet, or the request failed, so the page shows its defaults.
  const EMPTY_ANSWER = { segments: [], traits: {}, stage: null };
  let answer = null; // one request per page unless asked to refresh

  function personalizeUrl() {
    const id = anonymousId || readCookie(KEYS.anonymousId) || load(KEYS.anonymousId, null);
    const params = new URLSearchParams({ writeKey: writeKey || "" });
    if (userId && verification && verification.signature) {
      // Only a signed user id is believed; the values it signed come along to check it.
      params.set("userId", userId);
      params.set("signature", verification.signature);
      if (verification.email) params.set("email", verification.email);
      if (verification.phone) params.set("phone", verification.phone);
    } else if (id) {
      params.set("anonymousId", id);
    } else {
      return null;
    }
    // A plain GET with the key in the query: no preflight, no cookie.
    return `${host}/v1/personalize?${params}`;
  }

  function fetchAnswer() {
    const url = personalizeUrl();
    if (!url) return Promise.resolve(Object.assign({}, EMPTY_ANSWER));
    return fetch(url, { credentials: "omit" })
      .then((response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.json();
      })
      .catch((error) => {
        console.warn(`cdp.js: personalize() failed (${error.message}); showing defaults.`);
        return Object.assign({}, EMPTY_ANSWER);
      });
  }

  // The API ---------------------------------------------------------------------------------

  const isObject = (value) => value !== null && typeof value === "object";

  const cdp = {
    loaded: true,
    version: VERSION,

    page(name, properties) {
      if (isObject(name)) [name, properties] = [undefined, name];
      const fields = { properties: Object.assign(pageInfo(), properties) };
      if (name != null) fields.name = String(name);
      enqueue("page", fields);
    },

    track(event, properties) {
      if (!event) return console.warn("cdp.js: track() needs an event name.");
      enqueue("track", { event: String(event), properties: Object.assign({}, properties) });
    },

    // options.identityVerification: {userId, email, phone, signature} from your backend
    // (see the source's page); without it a client source's call cannot link to a known
    // customer.
    identify(id, traits, options) {
      if (isObject(id)) [id, traits, options] = [undefined, id, traits];
      if (!allowed()) return; // nor is the user id remembered without consent
      if (id != null) {
        if (String(id) !== userId) {
          verification = null; // another person: not theirs
          answer = null;
        }
        userId = String(id);
        save(KEYS.userId, userId);
      }
      const given = options && options.identityVerification;
      if (isObject(given)) verification = Object.assign({}, given);
      save(KEYS.verification, verification);
      enqueue("identify", { traits: Object.assign({}, traits) });
    },

    // Logout: forget who this is. Queued messages keep the ids they were made with.
    reset() {
      answer = null;
      userId = null;
      anonymousId = null;
      verification = null;
      save(KEYS.userId, null);
      save(KEYS.verification, null);
      save(KEYS.anonymousId, null);
      writeCookie(KEYS.anonymousId, "", 0);
    },

    // Categories are the site's own (analytics, marketing, ...); "analytics" gates tracking.
    consent(preferences) {
      consent = Object.assign({}, consent, preferences);
      save(KEYS.consent, consent);
      if (!allowed()) {
        // Withdrawn: what was collected but not yet sent is not sent.
        queue = [];
        save(KEYS.queue, null);
      }
    },

    anonymousId() {
      return allowed() ? currentAnonymousId() : null;
    },

    // A promise of what this visitor may be shown: {segments: [{id, name}], traits: {...},
    // stage: "orientation" | "consideration" | "acquisition" | "retention" | null}. Never
    // rejects: a failure resolves to the empty answer. options.refresh asks again.
    personalize(options) {
      if (!answer || (options && options.refresh)) answer = fetchAnswer();
      return answer;
    },

    // Runs fn(cdp) once the snippet has loaded (at once if it has): the loader queues it.
    ready(fn) {
      if (typeof fn !== "function") return console.warn("cdp.js: ready() needs a function.");
      try {
        fn(cdp);
      } catch (error) {
        console.error(error);
      }
    },
  };

  if (!writeKey || !host) console.warn("cdp.js: data-write-key and data-host are required.");
  window.cdp = cdp;
  // Replay what the page asked for before this file arrived, in order.
  const pending = stub && Array.isArray(stub.q) ? stub.q : [];
  for (const [method, args] of pending) {
    if (typeof cdp[method] === "function") cdp[method](...args);
  }
  if (queue.length) schedule(FLUSH_DELAY);
})();
