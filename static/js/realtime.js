/* Advocate Community — live updates over Socket.IO.
 * Joins every room named by a [data-room] element (e.g. <main data-room="question:17">).
 * Signed-in users (body[data-user-id]) are joined to their own room (user:<id>) by the server on
 * connect, which sends "notification", "reputation_changed" and "badge_awarded" events there: the
 * header's reputation figures ([data-live-reputation]) change in place and a toast says why.
 * Fails silently when the socket cannot connect.
 */
(function () {
  "use strict";

  const doc = document;

  function start() {
    if (typeof window.io !== "function") return;

    const rooms = Array.from(
      new Set(
        Array.from(doc.querySelectorAll("[data-room]"))
          .map((el) => (el.getAttribute("data-room") || "").trim())
          .filter(Boolean)
      )
    );
    const userId = ((doc.body && doc.body.getAttribute("data-user-id")) || "").trim();
    if (!rooms.length && !userId) return;

    let socket;
    try {
      socket = window.io({
        transports: ["websocket"],
        reconnectionAttempts: 10,
        reconnectionDelayMax: 30000,
        timeout: 10000,
      });
    } catch (_err) {
      return;
    }

    // (Re-)join the page's rooms on every connect, including reconnects.
    socket.on("connect", () => {
      rooms.forEach((room) => socket.emit("join", { room: room }));
    });
    socket.on("connect_error", () => {
      /* stay quiet: the page works without live updates */
    });

    /* ------------------------------------------------------------ banner */

    function showBanner(message) {
      const banner = doc.getElementById("live-banner");
      if (!banner) return;
      const text = doc.createElement("p");
      text.className = "live-banner-text";
      text.textContent = message;

      const reload = doc.createElement("button");
      reload.type = "button";
      reload.className = "btn btn--primary btn--small";
      reload.textContent = "Reload";
      reload.addEventListener("click", () => window.location.reload());

      const dismiss = doc.createElement("button");
      dismiss.type = "button";
      dismiss.className = "btn btn--ghost btn--small";
      dismiss.textContent = "Dismiss";
      dismiss.addEventListener("click", () => banner.replaceChildren());

      banner.replaceChildren(text, reload, dismiss);
    }

    function isMine(payload) {
      if (!userId || !payload || typeof payload !== "object") return false;
      const actor = payload.author_id ?? payload.actor_id ?? payload.user_id;
      return actor !== undefined && actor !== null && String(actor) === userId;
    }

    /* ------------------------------------------------------------ toasts */

    function safeUrl(url) {
      if (typeof url !== "string" || !url) return null;
      try {
        const parsed = new URL(url, window.location.href);
        if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
        if (parsed.origin !== window.location.origin) return null;
        return parsed.href;
      } catch (_err) {
        return null;
      }
    }

    function showToast(payload) {
      let region = doc.getElementById("toast-region");
      if (!region) {
        region = doc.createElement("div");
        region.id = "toast-region";
        region.className = "toast-region";
        region.setAttribute("aria-live", "polite");
        doc.body.appendChild(region);
      }
      const data = payload && typeof payload === "object" ? payload : { message: String(payload || "") };
      const message = data.message || data.text || data.title || "You have a new notification.";
      const url = safeUrl(data.url || data.link);

      const toast = doc.createElement("div");
      toast.className = "toast";
      const body = doc.createElement("p");
      body.className = "toast-body";
      body.textContent = String(message);
      if (url) {
        body.appendChild(doc.createTextNode(" "));
        const link = doc.createElement("a");
        link.href = url;
        link.textContent = data.link_text || "View";
        body.appendChild(link);
      }
      const close = doc.createElement("button");
      close.type = "button";
      close.className = "toast-close";
      close.setAttribute("aria-label", "Dismiss notification");
      close.textContent = "×";
      close.addEventListener("click", () => toast.remove());
      toast.append(body, close);
      region.appendChild(toast);

      // Auto-dismiss after a while, but never while the reader is hovering or focused on it.
      let timer = null;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (!toast.matches(":hover") && !toast.contains(doc.activeElement)) toast.remove();
          else arm();
        }, 10000);
      };
      toast.addEventListener("focusout", arm);
      toast.addEventListener("mouseleave", arm);
      arm();
      while (region.children.length > 4) region.firstElementChild.remove();
    }

    /* ------------------------------------------------------------ events */

    socket.on("answer_posted", (payload) => {
      if (isMine(payload)) return;
      const who = payload && typeof payload.author === "string" && payload.author ? payload.author : "Someone";
      showBanner(who + " posted a new answer — reload to see it.");
    });

    socket.on("answer_accepted", () => {
      showBanner("An answer was accepted — reload to see it.");
    });

    socket.on("comment_posted", (payload) => {
      if (isMine(payload)) return;
      showBanner("A new comment was posted — reload to see it.");
    });

    socket.on("post_edited", (payload) => {
      if (isMine(payload)) return;
      showBanner("A post on this page was edited — reload to see the changes.");
    });

    socket.on("post_deleted", () => {
      showBanner("A post on this page was deleted — reload to update the page.");
    });

    socket.on("question_posted", (payload) => {
      if (isMine(payload)) return;
      showBanner("New questions were posted — reload to see them.");
    });

    socket.on("vote_changed", (payload) => {
      if (!payload || payload.post_id === undefined || payload.score === undefined) return;
      const id = String(payload.post_id).replace(/["\\]/g, "");
      doc.querySelectorAll('[data-score-for="' + id + '"]').forEach((el) => {
        el.textContent = String(payload.score);
      });
    });

    socket.on("notification", (payload) => {
      showToast(payload);
    });

    /* ------------------------------------------------------------ reputation & badges (room user:<id>) */

    function forMe(payload) {
      return Boolean(userId) && Boolean(payload) && typeof payload === "object" && String(payload.user_id) === userId;
    }

    function formatNumber(n) {
      return Math.trunc(n).toLocaleString("en-US");
    }

    socket.on("reputation_changed", (payload) => {
      if (!forMe(payload)) return;
      const total = Number(payload.reputation);
      if (Number.isFinite(total)) {
        doc.querySelectorAll("[data-live-reputation]").forEach((el) => {
          el.textContent = formatNumber(total);
        });
      }
      const delta = Number(payload.delta);
      if (Number.isFinite(delta) && delta !== 0) {
        showToast({ message: (delta > 0 ? "+" : "\u2212") + formatNumber(Math.abs(delta)) + " reputation" });
      }
    });

    socket.on("badge_awarded", (payload) => {
      if (!forMe(payload)) return;
      const name = typeof payload.name === "string" && payload.name ? payload.name : "a new";
      const tier = typeof payload.tier === "string" && payload.tier ? " (" + payload.tier + ")" : "";
      showToast({ message: "You earned the " + name + " badge" + tier + ".", url: payload.url, link_text: "See it" });
    });

    window.Community = Object.assign(window.Community || {}, { socket: socket, showToast: showToast });
  }

  function safeStart() {
    try {
      start();
    } catch (_err) {
      /* live updates are optional */
    }
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", safeStart, { once: true });
  else safeStart();
})();
