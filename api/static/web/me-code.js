// Goldbean (金豆): the volunteer's payment code (/me/code) renews itself.
//
// The page shows a code the server issued (valid 60 s, used once). This script counts
// down and asks for a fresh one (POST /me/code.json with the X-CSRFToken header) a few
// seconds before it expires, whenever the tab comes back into view, and when the person
// presses "New code". The countdown is not a live region: only "new code" is announced.
// Without this script the page still shows a code and its "New code" button (a form post).
"use strict";

(() => {
  const box = document.getElementById("payment-code");
  if (!box || !window.fetch || !window.DOMParser) return;

  const EARLY_S = 5; // ask for the next code this many seconds before the end
  const RETRY_MS = 3000; // after a failed request
  const TICK_MS = 1000;

  const qr = document.getElementById("code-qr");
  const digits = document.getElementById("code-digits");
  const countdown = document.getElementById("code-countdown");
  const expiredNote = document.getElementById("code-expired");
  const status = document.getElementById("code-status");
  const form = document.getElementById("new-code-form");
  const text = box.dataset;

  let csrf = text.csrf;
  let deadline = Date.now() + Number(text.expiresIn || 0) * 1000;
  let busy = false;
  let retryAt = 0;

  function secondsLeft() {
    return Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
  }

  function showCountdown() {
    const left = secondsLeft();
    countdown.textContent = text.textLeft.replace("{s}", String(left));
    const expired = left <= 0;
    box.classList.toggle("expired", expired);
    if (expired && !busy) {
      expiredNote.textContent = text.textExpired;
      expiredNote.hidden = false;
    }
  }

  function showCode(answer) {
    const parsed = new DOMParser().parseFromString(answer.qr_svg, "image/svg+xml");
    const svg = parsed.documentElement;
    if (!svg || svg.nodeName.toLowerCase() !== "svg") throw new Error("not an SVG image");
    qr.replaceChildren(document.importNode(svg, true));
    digits.textContent = answer.display;
    deadline = Date.now() + Number(answer.expires_in) * 1000;
    if (answer.csrf_token) csrf = answer.csrf_token;
    expiredNote.hidden = true;
    expiredNote.textContent = "";
    box.classList.remove("expired");
    status.textContent = "";
    // a moment later, so that the same words are announced again each time
    window.setTimeout(() => {
      status.textContent = text.textNew;
    }, 100);
    showCountdown();
  }

  async function renew() {
    if (busy) return;
    busy = true;
    try {
      const answer = await fetch(text.refreshUrl, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      });
      const type = answer.headers.get("Content-Type") || "";
      if (answer.redirected || answer.status === 400 || answer.status === 403) {
        // signed out, or the form token is too old: the page itself knows what to do
        window.location.reload();
        return;
      }
      if (!answer.ok || !type.includes("application/json")) {
        throw new Error(`HTTP ${answer.status}`);
      }
      showCode(await answer.json());
      retryAt = 0;
    } catch (error) {
      console.warn("no new payment code", error);
      retryAt = Date.now() + RETRY_MS;
      if (secondsLeft() <= 0) {
        expiredNote.textContent = text.textFailed;
        expiredNote.hidden = false;
      }
    } finally {
      busy = false;
    }
  }

  function tick() {
    showCountdown();
    if (document.hidden || busy) return;
    if (secondsLeft() <= EARLY_S && Date.now() >= retryAt) renew();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    retryAt = 0;
    renew();
  });

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      retryAt = 0;
      renew();
    }
  });

  window.addEventListener("pageshow", (event) => {
    if (event.persisted) renew(); // back from the browser's page cache: the code is old
  });

  showCountdown();
  window.setInterval(tick, TICK_MS);
})();
