// Live incident timeline (ARCHITECTURE.md §6).
// The server is the source of truth: whenever we learn that events exist beyond our last seq
// (a websocket nudge, a reconnect, or a poll tick) we fetch `?after=<last seq>` and append.
// Without a cross-process channel layer (data-poll="1") we also poll every second, because events
// written by Celery workers cannot reach the websocket then.
(function () {
  "use strict";
  const list = document.getElementById("timeline");
  if (!list) return;
  const indicator = document.getElementById("live-indicator");
  const fetchUrl = list.dataset.fetchUrl;
  const polling = list.dataset.poll === "1";
  let lastSeq = parseInt(list.dataset.lastSeq || "0", 10);
  let inFlight = null;
  let socket = null;
  let retryDelay = 1000;
  // One second keeps a worker's event on screen well within the 2 s we promise.
  const POLL_MS = 1000;

  function setState(text, live) {
    if (!indicator) return;
    indicator.textContent = text;
    indicator.classList.toggle("is-live", !!live);
  }

  function catchUp() {
    if (inFlight) return inFlight;
    const separator = fetchUrl.includes("?") ? "&" : "?";
    inFlight = fetch(fetchUrl + separator + "after=" + lastSeq, {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        const template = document.createElement("template");
        template.innerHTML = html.trim();
        template.content.querySelectorAll("li[data-seq]").forEach(function (item) {
          const seq = parseInt(item.dataset.seq, 10);
          if (seq > lastSeq && !document.getElementById("event-" + seq)) {
            list.appendChild(item);
            item.classList.add("event-new");
            lastSeq = seq;
          }
        });
        list.dataset.lastSeq = String(lastSeq);
      })
      .catch(function () { setState("reconnecting…", false); })
      .finally(function () { inFlight = null; });
    return inFlight;
  }

  function connect() {
    if (!("WebSocket" in window)) return;
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + list.dataset.wsPath);
    socket.onopen = function () {
      retryDelay = 1000;
      setState(polling ? "live (+polling)" : "live", true);
      catchUp();  // anything committed while we were away
    };
    socket.onmessage = function (message) {
      let data = {};
      try { data = JSON.parse(message.data); } catch (error) { return; }
      if (data.type === "appended" && data.seq > lastSeq) catchUp();
    };
    socket.onclose = function () {
      setState(polling ? "polling" : "reconnecting…", polling);
      window.setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    };
  }

  connect();
  if (polling) {
    setState("polling", true);
    window.setInterval(catchUp, POLL_MS);
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) catchUp();
  });
})();
