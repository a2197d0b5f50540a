/*
 * Funnelwise web tracker, served at /js/fw.js.
 *
 * Sends page views, dwell time, scroll depth, outbound-link and download clicks, and the calls a
 * site makes (fw.identify, fw.track, fw.page) as Segment-spec messages to {host}/v1/batch.
 * See docs/tracking.md, "Web tracker".
 */
(() => {
  "use strict";

  // Loaded twice on one page: the first copy already owns window.fw.
  if (window.fw && !Array.isArray(window.fw)) return;

  const VERSION = "0.1.0";
  const COOKIE = "fw_aid";
  const USER_KEY = "fw_uid";
  const COOKIE_MAX_AGE = 2 * 365 * 24 * 60 * 60; // two years, in seconds
  const FLUSH_MS = 1000;
  const BATCH_SIZE = 20;
  const TICK_MS = 5000;
  const ENGAGED_SECONDS = [15, 30, 60, 120, 300];
  const SCROLL_PERCENTS = [25, 50, 75, 100];
  const DOWNLOAD = /\.(pdf|zip|rar|7z|gz|tgz|docx?|xlsx?|pptx?|hwpx?|csv|txt|rtf|dmg|exe|msi|pkg|apk)$/i;
  const UTM_KEYS = [
    ["utm_source", "source"],
    ["utm_medium", "medium"],
    ["utm_campaign", "name"],
    ["utm_term", "term"],
    ["utm_content", "content"],
  ];
  // Browsers refuse keepalive requests and beacons whose bodies add up to more than 64 KB.
  const KEEPALIVE_BYTES = 60000;

  const script = document.currentScript || document.querySelector("script[data-write-key]");
  const writeKey = script && script.dataset.writeKey;
  if (!writeKey) {
    console.error("fw.js: the script tag needs data-write-key=\"<the source's write key>\"");
    return;
  }
  const endpoint = `${(script.dataset.host || new URL(script.src).origin).replace(/\/+$/, "")}/v1/batch`;
  const cookieDomain = script.dataset.cookieDomain;
  let consented = script.dataset.requireConsent !== "true";

  // ----- identity: the anonymous id in a first-party cookie, the user id in localStorage -----

  let anonymousId = null;
  let userId = null;

  const uuid = () => {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // the RFC 4122 variant
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };

  const readCookie = () => {
    const pair = document.cookie.split("; ").find((p) => p.startsWith(`${COOKIE}=`));
    return pair ? decodeURIComponent(pair.slice(COOKIE.length + 1)) : null;
  };

  const writeCookie = (value, maxAge) => {
    let cookie = `${COOKIE}=${encodeURIComponent(value)}; Max-Age=${maxAge}; Path=/; SameSite=Lax`;
    if (cookieDomain) cookie += `; Domain=${cookieDomain}`;
    if (location.protocol === "https:") cookie += "; Secure";
    document.cookie = cookie;
  };

  // localStorage throws where it is disabled; the user id then lasts as long as the page.
  const stored = (key) => {
    try {
      return localStorage.getItem(key);
    } catch {
      return null;
    }
  };

  const store = (key, value) => {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch {
      // kept in memory only
    }
  };

  // ----- transport: batches of Segment messages, by fetch(keepalive) or, on page hide, by beacon -----

  const queue = [];
  let flushTimer = null;

  const flush = (byBeacon = false) => {
    clearTimeout(flushTimer);
    flushTimer = null;
    if (!queue.length) return;
    const body = JSON.stringify({ batch: queue.splice(0), sentAt: new Date().toISOString(), writeKey });
    // A string body goes as text/plain, a "simple" request: no CORS preflight, and a beacon may carry it.
    if (byBeacon && navigator.sendBeacon && navigator.sendBeacon(endpoint, body)) return;
    const small = new TextEncoder().encode(body).length < KEEPALIVE_BYTES;
    fetch(endpoint, {
      method: "POST",
      body,
      headers: { "Content-Type": "text/plain" },
      credentials: "omit",
      keepalive: small,
    })
      .then((response) => {
        if (!response.ok) console.warn(`fw.js: ${endpoint} answered ${response.status}`);
      })
      // Offline or blocked: the calls are dropped rather than piled up in a page that may be closing.
      .catch(() => {});
  };

  const send = (type, fields) => {
    if (!consented) return;
    const message = {
      type,
      messageId: uuid(),
      timestamp: new Date().toISOString(),
      anonymousId,
      context: context(),
      ...fields,
    };
    if (userId) message.userId = userId;
    queue.push(message);
    if (queue.length >= BATCH_SIZE) flush();
    else if (flushTimer === null) flushTimer = setTimeout(() => flush(), FLUSH_MS);
  };

  const track = (event, properties) => send("track", { event: String(event), properties: { ...properties } });

  // ----- the page view: what it is, how long it was visible, how far it was scrolled -----

  const campaignOf = (search) => {
    const params = new URLSearchParams(search);
    const campaign = {};
    for (const [utm, key] of UTM_KEYS) {
      if (params.get(utm)) campaign[key] = params.get(utm);
    }
    return campaign;
  };

  const startView = (referrer) => ({
    page: {
      url: location.href,
      path: location.pathname,
      referrer,
      title: document.title,
      search: location.search,
    },
    campaign: campaignOf(location.search),
    visibleMs: 0,
    visibleSince: document.visibilityState === "visible" ? Date.now() : null,
    engaged: 0, // how many of ENGAGED_SECONDS were announced
    scrolled: 0, // how many of SCROLL_PERCENTS were announced
    maxScroll: 0,
    left: false,
  });

  let view = startView(document.referrer);

  const context = () => {
    const ctx = {
      library: { name: "funnelwise.js", version: VERSION },
      page: { ...view.page },
      locale: navigator.language,
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      userAgent: navigator.userAgent,
    };
    if (Object.keys(view.campaign).length) ctx.campaign = { ...view.campaign };
    return ctx;
  };

  const where = () => ({ url: view.page.url, path: view.page.path });

  const visibleSeconds = () => {
    const running = view.visibleSince === null ? 0 : Date.now() - view.visibleSince;
    return Math.floor((view.visibleMs + running) / 1000);
  };

  // Taken at scroll events and when read, not at load: an async script may run before the body is laid out.
  const measureScroll = () => {
    const height = document.documentElement.scrollHeight || 1;
    const percent = Math.min(100, Math.round(((window.scrollY + window.innerHeight) / height) * 100));
    view.maxScroll = Math.max(view.maxScroll, percent);
    return view.maxScroll;
  };

  const tick = () => {
    const seconds = visibleSeconds();
    while (view.engaged < ENGAGED_SECONDS.length && seconds >= ENGAGED_SECONDS[view.engaged]) {
      track("Page Engaged", {
        seconds: ENGAGED_SECONDS[view.engaged],
        ...where(),
        title: view.page.title,
        max_scroll_percent: measureScroll(),
      });
      view.engaged += 1;
    }
  };

  let ticker = null;

  const startTicking = () => {
    if (ticker === null) ticker = setInterval(tick, TICK_MS);
  };

  const stopTicking = () => {
    clearInterval(ticker);
    ticker = null;
  };

  const leave = () => {
    if (view.left) return;
    view.left = true;
    track("Page Left", { seconds: visibleSeconds(), max_scroll_percent: measureScroll(), ...where() });
  };

  const sendPage = (name, properties) => {
    const fields = { properties: { ...view.page, ...properties } };
    if (name) fields.name = String(name);
    send("page", fields);
  };

  // ----- what the browser tells us -----

  const resume = () => {
    if (view.visibleSince === null) view.visibleSince = Date.now();
    startTicking();
  };

  // The page is out of sight (another tab, a minimised window, or gone): stop the clock, say goodbye.
  const hide = () => {
    if (view.visibleSince !== null) {
      view.visibleMs += Date.now() - view.visibleSince;
      view.visibleSince = null;
    }
    stopTicking();
    leave();
    flush(true);
  };

  const onVisibilityChange = () => {
    if (document.visibilityState === "visible") resume();
    else hide();
  };

  // A page restored from the back-forward cache is viewed anew.
  const onPageShow = (event) => {
    if (!event.persisted) return;
    view = startView(document.referrer);
    resume();
    sendPage();
  };

  const onScroll = () => {
    const percent = measureScroll();
    while (view.scrolled < SCROLL_PERCENTS.length && percent >= SCROLL_PERCENTS[view.scrolled]) {
      track("Page Scrolled", { percent: SCROLL_PERCENTS[view.scrolled], ...where() });
      view.scrolled += 1;
    }
  };

  const safeDecode = (text) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };

  const onClick = (event) => {
    // A middle click opens the link too; a right click does not.
    if (event.type === "auxclick" && event.button !== 1) return;
    const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
    if (!link) return;
    let url;
    try {
      url = new URL(link.getAttribute("href"), location.href);
    } catch {
      return;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return;
    const download = url.pathname.match(DOWNLOAD);
    if (download) {
      track("File Downloaded", {
        href: url.href,
        file_name: safeDecode(url.pathname.split("/").pop()),
        extension: download[1].toLowerCase(),
      });
    } else if (url.hostname !== location.hostname) {
      track("Link Clicked", { href: url.href, text: link.textContent.trim().slice(0, 255), outbound: true });
    } else {
      return;
    }
    // The click may take the visitor away: send now rather than when the batch timer fires.
    flush();
  };

  // ----- the public API: window.fw -----

  const start = () => {
    anonymousId = readCookie() || uuid();
    writeCookie(anonymousId, COOKIE_MAX_AGE); // also renews the two years
    userId = stored(USER_KEY);
    sendPage();
  };

  const api = {
    /** Names the visitor: `userId` is kept (localStorage fw_uid) and sent with every later call. */
    identify(id, traits) {
      if (id !== null && typeof id === "object") [id, traits] = [null, id];
      if (!consented) return;
      if (id !== null && id !== undefined && id !== "") {
        userId = String(id);
        store(USER_KEY, userId);
      }
      send("identify", { traits: { ...traits } });
    },

    track,

    /** A page view; after a client-side route change it ends the previous view ("Page Left"). */
    page(name, properties) {
      if (name !== null && typeof name === "object") [name, properties] = [null, name];
      if (location.href !== view.page.url) {
        leave();
        view = startView(view.page.url);
        if (view.visibleSince !== null) startTicking();
      }
      sendPage(name, properties);
    },

    /** true: start tracking (cookie, page view); false: stop, and forget this visitor's ids. */
    consent(granted) {
      if (granted) {
        if (!consented) {
          consented = true;
          start();
        }
        return;
      }
      consented = false;
      queue.length = 0;
      clearTimeout(flushTimer);
      flushTimer = null;
      writeCookie("", 0);
      store(USER_KEY, null);
      anonymousId = null;
      userId = null;
    },

    /** A visitor logging out: a new anonymous id, and no user id. */
    reset() {
      userId = null;
      store(USER_KEY, null);
      if (consented) {
        anonymousId = uuid();
        writeCookie(anonymousId, COOKIE_MAX_AGE);
      }
    },

    /** The queue stub's interface, kept after load: fw.push(["track", "Signed Up", {...}]). */
    push(call) {
      const [method, ...args] = Array.isArray(call) ? call : [];
      if (method === "push" || typeof api[method] !== "function") {
        console.warn(`fw.js: unknown call ${JSON.stringify(call)}; expected ["track", "Signed Up", {...}]`);
        return;
      }
      api[method](...args);
    },
  };

  const queued = Array.isArray(window.fw) ? window.fw : [];
  window.fw = api;

  document.addEventListener("visibilitychange", onVisibilityChange);
  window.addEventListener("pagehide", hide);
  window.addEventListener("pageshow", onPageShow);
  window.addEventListener("scroll", onScroll, { passive: true });
  // Capture: a page's own handler that stops propagation must not hide the click from us.
  document.addEventListener("click", onClick, true);
  document.addEventListener("auxclick", onClick, true);

  if (view.visibleSince !== null) startTicking();
  if (consented) start();
  for (const call of queued) api.push(call);
})();
