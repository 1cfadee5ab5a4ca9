// Goldbean (金豆): the volunteer's payment code (/me/code) renews itself.
//
// The page shows a code the server issued (valid 60 s, used once) and its 8-digit short
// code. This script counts down and asks for a fresh one (POST /me/code.json with the
// X-CSRFToken header) a few seconds before it expires, whenever the tab comes back into
// view, and when the person presses "New code"; after AUTO_RENEWALS renewals without the
// person doing anything, the code is left to expire and the page says so. Every two
// seconds it asks what became of the code (POST /me/code/status.json): once a till has
// redeemed it, the code gives way to a receipt ("Paid 15 beans at …"), announced.
// The countdown is not a live region: only "new code" and the receipt are announced.
// Without this script the page still shows a code and its "New code" button (a form post).
"use strict";

(() => {
  const box = document.getElementById("payment-code");
  if (!box || !window.fetch || !window.DOMParser) return;

  const EARLY_S = 5; // ask for the next code this many seconds before the end
  const RETRY_MS = 3000; // after a failed request
  const TICK_MS = 1000;
  const POLL_MS = 2000; // how often the page asks whether its code was used
  const AUTO_RENEWALS = 5; // fresh codes without the person doing anything (~5 minutes)

  const qr = document.getElementById("code-qr");
  const digits = document.getElementById("code-digits");
  const countdown = document.getElementById("code-countdown");
  const expiredNote = document.getElementById("code-expired");
  const status = document.getElementById("code-status");
  const short = document.getElementById("code-short");
  const receipt = document.getElementById("code-receipt");
  const form = document.getElementById("new-code-form");
  const text = box.dataset;

  let csrf = text.csrf;
  let code = text.code;
  let deadline = Date.now() + Number(text.expiresIn || 0) * 1000;
  let busy = false;
  let retryAt = 0;
  let renewals = 0; // since the person last did something
  let paid = false; // the till took the code shown: a receipt is shown instead
  let polling = false;
  let polledAt = 0;

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
    if (short) short.textContent = answer.short;
    code = answer.code;
    paid = false;
    box.hidden = false;
    if (receipt) receipt.hidden = true;
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

  function showReceipt(answer) {
    paid = true;
    box.hidden = true;
    if (!receipt) return;
    document.getElementById("code-receipt-text").textContent = answer.receipt.text;
    document.getElementById("code-receipt-time").textContent = answer.receipt.time;
    document.getElementById("code-receipt-link").href = answer.receipt.url;
    receipt.hidden = false;
    status.textContent = "";
    window.setTimeout(() => {
      status.textContent = `${text.textPaid} ${answer.receipt.text}`;
    }, 100);
  }

  async function poll() {
    if (polling || paid || !text.statusUrl) return;
    polling = true;
    polledAt = Date.now();
    const asked = code;
    try {
      const answer = await fetch(text.statusUrl, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: {
          "X-CSRFToken": csrf,
          Accept: "application/json",
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ code: asked }).toString(),
      });
      const type = answer.headers.get("Content-Type") || "";
      if (!answer.ok || !type.includes("application/json")) return; // asked again soon
      const found = await answer.json();
      if (asked !== code) return; // a new code came meanwhile
      if (found.state === "used" && found.receipt) showReceipt(found);
    } catch (error) {
      console.warn("could not ask about the payment code", error);
    } finally {
      polling = false;
    }
  }

  function tick() {
    if (paid) return;
    showCountdown();
    if (document.hidden) return;
    if (Date.now() - polledAt >= POLL_MS) poll();
    if (busy || renewals >= AUTO_RENEWALS) return;
    if (secondsLeft() <= EARLY_S && Date.now() >= retryAt) {
      renewals += 1;
      renew();
    }
  }

  function personAsks() {
    renewals = 0;
    retryAt = 0;
    renew();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    personAsks();
  });

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && !paid) personAsks();
  });

  window.addEventListener("pageshow", (event) => {
    if (event.persisted) personAsks(); // back from the browser's page cache: the code is old
  });

  showCountdown();
  window.setInterval(tick, TICK_MS);
})();
