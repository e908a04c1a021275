/* Advocate Community — progressive enhancements. Vanilla ES2020, no dependencies.
 * Every page works without this file; each enhancement checks that its elements exist.
 * CSP: this file is loaded from 'self'; it never injects inline scripts or style attributes
 * (CSSOM custom-property writes are allowed under style-src 'self').
 */
(function () {
  "use strict";

  const doc = document;
  const root = doc.documentElement;
  root.classList.add("js");

  /* ---------------------------------------------------------------- helpers */

  function meta(name) {
    const el = doc.querySelector('meta[name="' + name + '"]');
    return el ? (el.getAttribute("content") || "").trim() : "";
  }

  function csrfToken() {
    return meta("csrf-token");
  }

  function apiRoot() {
    return (meta("api-root") || "/api/v1").replace(/\/+$/, "");
  }

  function debounce(fn, wait) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), wait);
    };
  }

  async function readJson(response) {
    const type = response.headers.get("Content-Type") || "";
    if (!type.includes("json")) return null;
    try {
      return await response.json();
    } catch (_err) {
      return null;
    }
  }

  function errorMessage(data, fallback) {
    if (data && typeof data === "object") {
      const err = data.error;
      if (err && typeof err === "object" && typeof err.message === "string" && err.message) return err.message;
      if (typeof err === "string" && err) return err;
      if (typeof data.message === "string" && data.message) return data.message;
    }
    return fallback;
  }

  function onReady(fn) {
    if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", fn, { once: true });
    else fn();
  }

  function safely(fn) {
    try {
      fn();
    } catch (err) {
      if (window.console && console.warn) console.warn("[app]", err);
    }
  }

  /* ---------------------------------------------------------------- 1. brand colour */

  function parseHexColor(value) {
    let hex = value.replace(/^#/, "");
    if (/^[0-9a-f]{3,4}$/i.test(hex)) hex = hex.slice(0, 3).split("").map((c) => c + c).join("");
    if (/^[0-9a-f]{8}$/i.test(hex)) hex = hex.slice(0, 6);
    if (!/^[0-9a-f]{6}$/i.test(hex)) return null;
    return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
  }

  function relativeLuminance(rgb) {
    const [r, g, b] = rgb.map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  function applyBrandColor() {
    const color = meta("brand-color");
    if (!color) return;
    if (window.CSS && typeof CSS.supports === "function" && !CSS.supports("color", color)) return;
    root.style.setProperty("--brand", color);
    const rgb = parseHexColor(color);
    if (rgb) {
      // White text needs a contrast of at least 4.5:1 on the brand colour; otherwise use dark text.
      const contrastWithWhite = 1.05 / (relativeLuminance(rgb) + 0.05);
      root.classList.toggle("brand-light", contrastWithWhite < 4.5);
    }
  }

  /* ---------------------------------------------------------------- 2. markdown preview */

  function initPreviews() {
    doc.querySelectorAll("textarea[data-preview-target]").forEach((textarea) => {
      const target = doc.getElementById(textarea.getAttribute("data-preview-target"));
      if (!target || textarea.dataset.previewBound) return;
      textarea.dataset.previewBound = "1";

      let status = target.nextElementSibling;
      if (!status || !status.classList.contains("preview-status")) {
        status = doc.createElement("p");
        status.className = "preview-status";
        target.insertAdjacentElement("afterend", status);
      }

      let controller = null;
      let sequence = 0;

      function showPlaceholder() {
        const p = doc.createElement("p");
        p.className = "preview-placeholder";
        p.textContent = target.getAttribute("data-placeholder") || "Preview";
        target.replaceChildren(p);
        target.classList.add("preview--empty");
      }

      async function render() {
        const body = textarea.value;
        const mine = ++sequence;
        if (controller) controller.abort();
        if (!body.trim()) {
          controller = null;
          status.textContent = "";
          showPlaceholder();
          return;
        }
        controller = typeof AbortController === "function" ? new AbortController() : null;
        try {
          const response = await fetch(apiRoot() + "/render", {
            method: "POST",
            credentials: "same-origin",
            headers: {
              "Content-Type": "application/json",
              Accept: "application/json",
              "X-CSRFToken": csrfToken(),
            },
            body: JSON.stringify({ body: body }),
            signal: controller ? controller.signal : undefined,
          });
          const data = await readJson(response);
          if (mine !== sequence) return;
          if (!response.ok || !data || typeof data.html !== "string") {
            status.textContent = errorMessage(data, "Preview is unavailable right now.");
            return;
          }
          // The server sanitises the rendered HTML before returning it.
          target.innerHTML = data.html;
          target.classList.remove("preview--empty");
          status.textContent = "";
        } catch (err) {
          if (err && err.name === "AbortError") return;
          if (mine === sequence) status.textContent = "Preview is unavailable right now.";
        }
      }

      textarea.addEventListener("input", debounce(render, 300));
      if (textarea.value.trim()) render();
      else showPlaceholder();
    });
  }

  /* ---------------------------------------------------------------- 3. votes */

  // Fallback for browsers without SubmitEvent.submitter: remember the last clicked submit button.
  let lastSubmitter = null;
  doc.addEventListener(
    "click",
    (event) => {
      const button = event.target instanceof Element ? event.target.closest("button, input[type=submit]") : null;
      if (button && button.form) lastSubmitter = button;
    },
    true
  );

  function submitterFor(event, form) {
    if (event.submitter) return event.submitter;
    if (lastSubmitter && lastSubmitter.form === form) return lastSubmitter;
    return null;
  }

  function nativeSubmit(form, submitter) {
    // Submit without our handlers, carrying the clicked button's name/value along.
    if (submitter && submitter.name) {
      const hidden = doc.createElement("input");
      hidden.type = "hidden";
      hidden.name = submitter.name;
      hidden.value = submitter.value;
      form.appendChild(hidden);
    }
    HTMLFormElement.prototype.submit.call(form);
  }

  function updateScores(postId, score) {
    if (postId === undefined || postId === null || score === undefined || score === null) return;
    const selector = '[data-score-for="' + String(postId).replace(/["\\]/g, "") + '"]';
    doc.querySelectorAll(selector).forEach((el) => {
      el.textContent = String(score);
    });
  }

  function showVoteError(form, message) {
    const box = form.closest(".score-box") || form;
    let alert = box.querySelector(".vote-error");
    if (!alert) {
      alert = doc.createElement("p");
      alert.className = "vote-error";
      alert.setAttribute("role", "alert");
      box.appendChild(alert);
    }
    alert.textContent = message;
    clearTimeout(alert._timer);
    alert._timer = setTimeout(() => alert.remove(), 8000);
  }

  function clearVoteError(form) {
    const box = form.closest(".score-box") || form;
    const alert = box.querySelector(".vote-error");
    if (alert) alert.remove();
  }

  function applyVoteState(form, myVote) {
    const v = Number(myVote) || 0;
    const up = form.querySelector('[data-vote="up"]');
    const down = form.querySelector('[data-vote="down"]');
    if (up) {
      up.setAttribute("aria-pressed", v === 1 ? "true" : "false");
      up.value = v === 1 ? "0" : "1";
    }
    if (down) {
      down.setAttribute("aria-pressed", v === -1 ? "true" : "false");
      down.value = v === -1 ? "0" : "-1";
    }
  }

  async function submitVote(form, submitter) {
    if (form.getAttribute("aria-busy") === "true") return;
    const data = new FormData(form);
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    if (!data.get("csrf_token") && csrfToken()) data.set("csrf_token", csrfToken());

    form.setAttribute("aria-busy", "true");
    clearVoteError(form);
    try {
      const response = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: data,
      });
      const json = await readJson(response);
      if (!json) {
        // Not a JSON answer (e.g. redirected to the login page): fall back to a normal submit.
        form.removeAttribute("aria-busy");
        nativeSubmit(form, submitter);
        return;
      }
      if (!response.ok) {
        showVoteError(form, errorMessage(json, "Your vote could not be recorded."));
        return;
      }
      const postId = form.getAttribute("data-post-id") || (form.querySelector("[data-score-for]") || {}).dataset?.scoreFor;
      if (json.score !== undefined) updateScores(postId, json.score);
      applyVoteState(form, json.my_vote);
      if (submitter && typeof submitter.focus === "function") submitter.focus();
    } catch (_err) {
      showVoteError(form, "Your vote could not be recorded. Check your connection and try again.");
    } finally {
      form.removeAttribute("aria-busy");
    }
  }

  /* ---------------------------------------------------------------- 3+4. form submit handling */

  function initSubmitHandling() {
    doc.addEventListener("submit", (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      const submitter = submitterFor(event, form);

      // 4. confirmation prompts (on the form, or on the clicked button)
      const message =
        (submitter && submitter.getAttribute("data-confirm")) ||
        (form.hasAttribute("data-confirm") ? form.getAttribute("data-confirm") || "Are you sure?" : "");
      if (message && !window.confirm(message)) {
        event.preventDefault();
        return;
      }

      if (form.hasAttribute("data-vote-form") && window.fetch && window.FormData) {
        event.preventDefault();
        submitVote(form, submitter);
      }
    });
  }

  /* ---------------------------------------------------------------- 6. character counters */

  function initCounters() {
    doc.querySelectorAll("[data-maxlength-counter]").forEach((input) => {
      if (input.dataset.counterBound) return;
      const max = parseInt(input.getAttribute("data-maxlength-counter"), 10) || parseInt(input.getAttribute("maxlength"), 10);
      if (!max) return;
      input.dataset.counterBound = "1";

      const parent = input.parentElement;
      let counter = parent ? parent.querySelector(".counter") : null;
      if (!counter) {
        counter = doc.createElement("span");
        counter.className = "counter";
        input.insertAdjacentElement("afterend", counter);
      }
      if (!counter.id) counter.id = (input.id || "field-" + Math.random().toString(36).slice(2)) + "-counter";
      const described = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      if (!described.includes(counter.id)) {
        described.push(counter.id);
        input.setAttribute("aria-describedby", described.join(" "));
      }

      const update = () => {
        const length = Array.from(input.value).length; // code points, as the server counts
        counter.textContent = length + " / " + max;
        counter.classList.toggle("counter--over", length > max);
        counter.classList.toggle("counter--near", length <= max && length >= max * 0.9);
      };
      input.addEventListener("input", update);
      update();
    });
  }

  /* ---------------------------------------------------------------- 7. tag input */

  function normaliseTags(value) {
    const seen = new Set();
    return value
      .toLowerCase()
      .split(/[\s,;]+/)
      .map((t) => t.trim())
      .filter((t) => t && !seen.has(t) && seen.add(t))
      .join(" ");
  }

  function initTagInputs() {
    doc.querySelectorAll("[data-tag-input]").forEach((input) => {
      if (input.dataset.tagBound) return;
      input.dataset.tagBound = "1";
      input.addEventListener("blur", () => {
        const normalised = normaliseTags(input.value);
        if (normalised !== input.value) input.value = normalised;
      });
    });
  }

  /* ---------------------------------------------------------------- menus & flash */

  function initDisclosureMenus() {
    const menus = () => doc.querySelectorAll("details.dropdown[open], details.mobile-menu[open]");
    doc.addEventListener("click", (event) => {
      menus().forEach((details) => {
        if (!details.contains(event.target)) details.removeAttribute("open");
      });
    });
    doc.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      menus().forEach((details) => {
        const hadFocus = details.contains(doc.activeElement);
        details.removeAttribute("open");
        const summary = details.querySelector("summary");
        if (hadFocus && summary) summary.focus();
      });
    });
  }

  function initDismissibleAlerts() {
    doc.querySelectorAll(".alert[data-dismissible]").forEach((alert) => {
      if (alert.querySelector(".alert-close")) return;
      const button = doc.createElement("button");
      button.type = "button";
      button.className = "alert-close";
      button.setAttribute("aria-label", "Dismiss message");
      button.textContent = "×";
      button.addEventListener("click", () => alert.remove());
      alert.appendChild(button);
    });
  }

  /* ---------------------------------------------------------------- boot */

  safely(applyBrandColor);
  onReady(() => {
    safely(initSubmitHandling);
    safely(initPreviews);
    safely(initCounters);
    safely(initTagInputs);
    safely(initDisclosureMenus);
    safely(initDismissibleAlerts);
  });

  // Small shared API for realtime.js and page scripts.
  window.Community = Object.assign(window.Community || {}, {
    csrfToken: csrfToken,
    apiRoot: apiRoot,
    updateScores: updateScores,
  });
})();
