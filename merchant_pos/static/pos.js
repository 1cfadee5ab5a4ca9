// Goldbean (金豆) point of sale, in the browser (SPEC §5, §6, §10 /pos).
//
// A client of the HTTP API like merchant_pos/client.py: it signs in with a terminal token
// (kept in localStorage until "sign out"), reads a code (typed, camera, or a photo),
// redeems it, shows the receipt the server confirmed, refunds, and lists the day.
//
// Every request that moves beans carries an Idempotency-Key. The key belongs to one
// attempt (one request body): when no answer comes (network failure, timeout, 5xx, or a
// 409 conflict) the same body is sent again with the same key, a few times, and again when
// the cashier presses the button once more; the server answers a repeat with its first
// answer, so beans move once. A new sale (another body) gets a new key, but only after the
// unanswered attempt before it has been settled.
//
// Plain JavaScript, nothing loaded from elsewhere; all text goes in with textContent.
"use strict";

(() => {
  const API = "/api/v1";
  const TOKEN_KEY = "goldbean.pos.token";
  const LANG_KEY = "goldbean.pos.lang";
  const POLL_MS = 5000; // today's list
  const TODAY_ROWS = 200; // how many of the day's redemptions the list shows, newest first
  const SCAN_MS = 700; // one camera frame
  const FRESH_MS = 20000; // how long a new row of today's list stays highlighted
  const TIMEOUT_MS = 15000; // one request
  const RETRY_DELAYS_MS = [500, 1000, 2000]; // further tries of an unanswered attempt
  const MAX_AMOUNT_DIGITS = 6;

  // Codes by first digit and length (ledger/codes.py).
  const CODE_KINDS = { "8:37": "payment", "6:17": "card", "7:10": "merchant", "5:13": "checkin" };
  const SHORT_CODE_LENGTH = 8; // a volunteer's short payment code, typed (api/short_codes.py)

  // --- words -----------------------------------------------------------------------------

  const TEXT = {
    zh: {
      htmlLang: "zh-CN",
      locale: "zh-CN",
      title: "金豆收银台",
      otherLanguage: "English",
      signOut: "退出登录",
      close: "关闭",
      signInTitle: "收银台登录",
      tokenLabel: "收银台令牌",
      tokenHint: "管理员创建收银台时显示一次的令牌。粘贴一次即可，本设备会记住它，直到“退出登录”。",
      signIn: "登录",
      pairLabel: "配对码（8位数字）",
      pairHint: "管理员添加收银台后，页面上显示的配对码，10分钟内有效。也可以用本设备的相机扫描那里的二维码。",
      pair: "配对",
      pairing: "正在配对…",
      orToken: "或者粘贴收银台令牌：",
      saleTitle: "收款",
      codeLabel: "付款码或金豆卡号",
      scan: "扫码",
      choosePhoto: "选择图片",
      cameraHint: "把二维码放在取景框中间",
      stopScan: "停止扫码",
      amountLabel: "金额（金豆）",
      clear: "清除",
      backspace: "退格",
      pinLabel: "卡密码（4位）",
      pinHint: "请持卡人输入密码；没有设置密码的卡留空。",
      redeem: "收款",
      redeeming: "正在收款…",
      receiptTitle: "收款成功",
      beans: "金豆",
      receiptTime: "时间",
      receiptId: "收据号",
      receiptPayer: "付款方式",
      receiptCardBalance: "卡内余额",
      cardBalance: "{n} 金豆",
      nextSale: "下一笔",
      todayTitle: "今日收款",
      totalCount: "笔数",
      totalRedeemed: "收款",
      totalRefunded: "退款",
      totalNet: "净收",
      todayEmpty: "今天还没有收款。",
      updatedAt: "更新于 {time}",
      refund: "退款",
      refunded: "已退 {n}",
      refundTitle: "退款",
      refundAmount: "退款金额（金豆）",
      refundInfo: "收据 {id}，{time}，{amount} 金豆，可退 {left} 金豆",
      cancel: "取消",
      confirmRefund: "确认退款",
      refundDone: "已退款 {n} 金豆（收据 {id}）",
      rowLabel: "{time} 收款 {amount} 金豆，收据 {id}",
      refundRowLabel: "退款：收据 {id}",
      kindPayment: "金豆付款码",
      kindCard: "金豆卡",
      kindCounter: "扫码付款（商户收款码）",
      codeIsPayment: "志愿者付款码 ✓",
      codeIsCard: "金豆卡 ✓ 如卡有密码，请持卡人输入",
      codeIncomplete: "已输入 {n} 位",
      newPayment: "收到一笔付款：{amount} 金豆",
      signedIn: "已登录：{name}",
      signedOut: "已退出登录，本设备不再保存令牌。",
      scanned: "已读取二维码",
      earlierDone: "上一笔（{amount} 金豆）其实已经成功，请先核对收据；这一笔还没有收。",
      errors: {
        network: "网络中断，这一笔还没有确认。请检查网络后再点一次按钮：会用同一个请求重试，不会重复扣款或退款。",
        network_read: "连不上服务器，请检查网络。稍后会自动重试。",
        not_merchant: "这个令牌不是商户收银台的令牌。",
        no_code: "请先输入或扫描付款码。",
        bad_code: "这不是付款码或金豆卡号，请核对数字或重新扫码。",
        merchant_code: "这是商户收款码，不是顾客的付款码。请让顾客出示金豆付款码。",
        checkin_code: "这是活动签到码，不是付款码。",
        no_amount: "请用数字键输入金额。",
        pin_format: "卡密码是4位数字。",
        refund_amount: "请输入要退的金豆数（1 到 {left}）。",
        no_camera: "无法使用摄像头（需要 HTTPS 连接并允许使用摄像头）。可以选择图片或手动输入。",
        no_qr: "图片中没有找到二维码，请换一张更清晰的图片。",
        bad_image: "无法读取这张图片。",
        unauthenticated: "收银台令牌无效或已被撤销，请重新登录。",
        forbidden: "这个收银台无权进行此操作。",
        not_found: "找不到这条记录（收款或商户不存在，或不属于本店）。",
        validation_error: "输入的内容不正确，请检查付款码、金额和密码。",
        insufficient_balance: "余额不足：顾客的金豆不够（退款时：本店未结算的金豆不够）。",
        invalid_code: "无效的付款码或卡号，请重新扫码或核对数字。",
        code_expired: "付款码已过期（60秒内有效），请顾客刷新付款码后再扫。",
        code_used: "这个付款码已经用过了，请顾客刷新付款码。",
        card_revoked: "这张卡已经挂失补办，旧卡不能再使用。",
        wrong_pin: "卡密码不正确，请持卡人重新输入。",
        pin_required: "这张卡设有密码，请持卡人输入密码。",
        card_locked: "密码错误次数过多，这张卡已被锁定，请联系社区工作人员解锁。",
        merchant_not_allowed: "金豆卡不能在本店使用（只能在超市、菜市场和食堂使用）。",
        merchant_suspended: "本店已被暂停收款，请联系社区管理员。",
        limit_exceeded: "超出限额：单笔金额或金豆卡当日消费超过了上限。",
        limit_per_transaction: "超出单笔上限：每笔最多 {limit_beans} 金豆。请分成几笔收款。",
        limit_card_daily: "超出金豆卡每天的消费上限（每天 {limit_beans} 金豆）：这张卡今天还可以用 {left_today} 金豆。",
        pair_code: "配对码是8位数字，请核对。",
        pair_invalid: "配对码不对，或已经用过、已过期（10分钟内有效）。请核对数字，或请管理员重新生成配对码。",
        award_cap_exceeded: "超过了每日奖励上限。",
        self_verification: "不能审核自己上报或处理的事件。",
        four_eyes_required: "需要另一位工作人员审批。",
        refund_exceeds_redemption: "退款金额超过了这笔收款还可退的金豆。",
        refund_window_closed: "已超过退款期限（收款后30天内可退）。",
        insufficient_fund: "基金余额不足。",
        idempotency_key_reused: "这个请求编号已经用于另一笔交易，请重新开始这笔收款。",
        conflict: "服务器正忙于处理这个账户，请稍后再试（不会重复扣款）。",
        unavailable: "服务暂时不可用，请稍后再试。",
        invalid_state: "当前状态下不能进行这个操作。",
        too_many_requests: "尝试次数过多，请稍后再试。",
        payload_too_large: "图片太大，请换一张较小的图片。",
        nothing_to_settle: "没有需要结算的金豆。",
        duplicate_receipt: "这个收据号已经登记过。",
        method_not_allowed: "不支持这个操作。",
        internal_error: "服务器出错了，请稍后再试。",
        unknown: "出错了（{code}）。",
      },
    },
    en: {
      htmlLang: "en",
      locale: "en-GB",
      title: "Goldbean till",
      otherLanguage: "中文",
      signOut: "Sign out",
      close: "Close",
      signInTitle: "Sign in this till",
      tokenLabel: "Till token",
      tokenHint:
        "The token shown once when the administrator created this till. Paste it once; this device keeps it until you sign out.",
      signIn: "Sign in",
      pairLabel: "Pairing code (8 digits)",
      pairHint:
        "The code shown to the administrator after adding the till, valid for 10 minutes. Or scan the QR code shown there with this device's camera.",
      pair: "Pair",
      pairing: "Pairing…",
      orToken: "Or paste the till token:",
      saleTitle: "Take a payment",
      codeLabel: "Payment code or card number",
      scan: "Scan",
      choosePhoto: "Choose a photo",
      cameraHint: "Hold the QR code in the middle of the picture",
      stopScan: "Stop scanning",
      amountLabel: "Amount (beans)",
      clear: "Clear",
      backspace: "Backspace",
      pinLabel: "Card PIN (4 digits)",
      pinHint: "The card holder enters the PIN; leave it empty for a card without a PIN.",
      redeem: "Redeem",
      redeeming: "Redeeming…",
      receiptTitle: "Payment received",
      beans: "beans",
      receiptTime: "Time",
      receiptId: "Receipt",
      receiptPayer: "Paid with",
      receiptCardBalance: "Left on the card",
      cardBalance: "{n} beans",
      nextSale: "Next sale",
      todayTitle: "Today",
      totalCount: "Sales",
      totalRedeemed: "Received",
      totalRefunded: "Refunded",
      totalNet: "Net",
      todayEmpty: "No payments yet today.",
      updatedAt: "Updated {time}",
      refund: "Refund",
      refunded: "refunded {n}",
      refundTitle: "Refund",
      refundAmount: "Beans to refund",
      refundInfo: "Receipt {id}, {time}, {amount} beans, {left} left to refund",
      cancel: "Cancel",
      confirmRefund: "Refund",
      refundDone: "Refunded {n} beans (receipt {id})",
      rowLabel: "{time}: received {amount} beans, receipt {id}",
      refundRowLabel: "Refund receipt {id}",
      kindPayment: "Goldbean payment code",
      kindCard: "Bean card",
      kindCounter: "Counter code",
      codeIsPayment: "Volunteer payment code ✓",
      codeIsCard: "Bean card ✓ If the card has a PIN, the holder enters it",
      codeIncomplete: "{n} digits so far",
      newPayment: "Payment received: {amount} beans",
      signedIn: "Signed in: {name}",
      signedOut: "Signed out; this device no longer keeps the token.",
      scanned: "QR code read",
      earlierDone:
        "The previous sale ({amount} beans) did go through: check its receipt. This one has not been taken yet.",
      errors: {
        network:
          "The network is down and this is not confirmed yet. Check the connection and press the button again: it resends the same request, so nothing happens twice.",
        network_read: "Cannot reach the server; check the network. It will try again by itself.",
        not_merchant: "This token is not a shop till's token.",
        no_code: "Type or scan the payment code first.",
        bad_code: "That is not a payment code or card number: check the digits or scan again.",
        merchant_code: "That is a shop's counter code, not a customer's payment code. Ask for their Goldbean payment code.",
        checkin_code: "That is an activity check-in code, not a payment code.",
        no_amount: "Enter the amount with the keypad.",
        pin_format: "A card PIN is 4 digits.",
        refund_amount: "Enter the beans to refund (1 to {left}).",
        no_camera:
          "The camera cannot be used (it needs an HTTPS connection and your permission). Choose a photo or type the code.",
        no_qr: "No QR code found in that picture; try a sharper one.",
        bad_image: "That picture cannot be read.",
        unauthenticated: "The till token is not valid or was revoked: sign in again.",
        forbidden: "This till is not allowed to do that.",
        not_found: "Not found: no such sale or shop, or it is not this shop's.",
        validation_error: "Something entered is not valid: check the code, amount and PIN.",
        insufficient_balance:
          "Not enough beans: the customer's balance is too low (for a refund: this shop's unsettled beans).",
        invalid_code: "Invalid payment code or card: scan again or check the digits.",
        code_expired: "The payment code has expired (it is valid for 60 s): ask the customer to refresh it.",
        code_used: "This payment code has already been used: ask the customer for a fresh one.",
        card_revoked: "This card was replaced by a new one and can no longer be used.",
        wrong_pin: "Wrong PIN for this card: the holder should enter it again.",
        pin_required: "This card has a PIN: the holder should enter it.",
        card_locked: "Too many wrong PINs: the card is locked. A community coordinator can unlock it.",
        merchant_not_allowed:
          "Bean cards cannot be used at this shop (only groceries, produce shops and canteens).",
        merchant_suspended: "This shop is suspended and cannot take payments: contact the administrator.",
        limit_exceeded: "Over the limit: the sale is too large, or the card's daily spending limit is reached.",
        limit_per_transaction: "Over the limit of one sale: at most {limit_beans} beans a sale. Split it into several sales.",
        limit_card_daily:
          "Over the card's daily limit ({limit_beans} beans a day): the card can spend {left_today} more beans today.",
        pair_code: "A pairing code is 8 digits: check it.",
        pair_invalid:
          "Wrong pairing code, or it was used or has expired (it is valid for 10 minutes). Check the digits or ask the administrator for a new one.",
        award_cap_exceeded: "Over the daily award cap.",
        self_verification: "Nobody may verify an incident they reported or handled.",
        four_eyes_required: "Another officer must approve this.",
        refund_exceeds_redemption: "The refund is more than what is left of this sale.",
        refund_window_closed: "Too late to refund: refunds are possible for 30 days after the sale.",
        insufficient_fund: "The fund's balance is too low.",
        idempotency_key_reused: "This request id was used for another request: start the sale again.",
        conflict: "The server was busy with this account: try again (nothing is charged twice).",
        unavailable: "The service is unavailable for the moment: try again shortly.",
        invalid_state: "That cannot be done in the current state.",
        too_many_requests: "Too many attempts: wait a little and try again.",
        payload_too_large: "The picture is too large: choose a smaller one.",
        nothing_to_settle: "There is nothing to settle.",
        duplicate_receipt: "That receipt number is already recorded.",
        method_not_allowed: "That is not supported.",
        internal_error: "Something went wrong on the server: try again shortly.",
        unknown: "Something went wrong ({code}).",
      },
    },
  };

  // --- state -----------------------------------------------------------------------------

  const state = {
    lang: readStorage(LANG_KEY) === "en" ? "en" : "zh",
    token: null,
    merchantId: null,
    merchantName: "",
    amount: "",
    attempt: null, // {path, text, key, amount} of a redemption that got no answer yet
    refundAttempt: null, // the same for a refund
    refundTarget: null, // the row of today's list being refunded
    busy: false,
    message: null, // {kind, key?, code?, detail?, vars?}, re-rendered on a language change
    receipt: null,
    today: null,
    known: null, // ids of today's rows already shown (null before the first load)
    mine: new Set(), // ids this page redeemed itself
    fresh: new Map(), // id -> time until which its row is highlighted
    rows: new Map(), // id -> <li>
    updatedAt: null,
    pollTimer: null,
    polling: false,
    pollAgain: false,
  };

  const $ = (id) => document.getElementById(id);
  const el = {};
  let scanner = null; // GoldbeanScanner's camera and photos, once the page is bound

  // --- helpers ---------------------------------------------------------------------------

  function readStorage(name) {
    try {
      return window.localStorage.getItem(name);
    } catch {
      return null; // storage disabled: the token is kept for this page only
    }
  }

  function writeStorage(name, value) {
    try {
      if (value === null) window.localStorage.removeItem(name);
      else window.localStorage.setItem(name, value);
    } catch {
      // storage disabled: nothing to keep
    }
  }

  function words() {
    return TEXT[state.lang];
  }

  function fill(template, vars) {
    return String(template).replace(/\{(\w+)\}/g, (all, name) =>
      vars && vars[name] !== undefined ? String(vars[name]) : all,
    );
  }

  function t(key, vars) {
    const found = words()[key];
    return fill(found === undefined ? key : found, vars);
  }

  function errorText(code, detail, vars) {
    const table = words().errors;
    // A limit refusal names its limit (limit_exceeded's extra fields): say which, and what is left.
    const limit = code === "limit_exceeded" && vars && table[`limit_${vars.limit}`];
    if (limit) return fill(limit, vars);
    if (table[code]) return fill(table[code], vars);
    return detail || fill(table.unknown, { code });
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const bytes = window.crypto.getRandomValues(new Uint8Array(16)); // (not a secure context)
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function digitsOf(text) {
    return String(text || "").replace(/[\s-]/g, "");
  }

  function kindOf(code) {
    if (!/^\d+$/.test(code)) return null;
    if (code.length === SHORT_CODE_LENGTH) return "payment"; // the short code beside a payment code
    return CODE_KINDS[`${code[0]}:${code.length}`] || null;
  }

  function shortId(id) {
    return String(id || "").replace(/-/g, "").slice(0, 8).toUpperCase();
  }

  // Dates as docs/GLOSSARY.md writes them, like api/dates.py and merchant_pos/dates.py:
  // 2026年12月8日 14:05 and 8 Dec 2026, 14:05; times on a 24-hour clock.
  const SHORT_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const two = (n) => String(n).padStart(2, "0");

  function timeOf(iso, withSeconds) {
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) return String(iso || "");
    const clock = `${two(at.getHours())}:${two(at.getMinutes())}`;
    return withSeconds ? `${clock}:${two(at.getSeconds())}` : clock;
  }

  function dayOf(at) {
    if (words().locale.startsWith("en")) {
      return `${at.getDate()} ${SHORT_MONTHS[at.getMonth()]} ${at.getFullYear()}`;
    }
    return `${at.getFullYear()}年${at.getMonth() + 1}月${at.getDate()}日`;
  }

  function dateTimeOf(iso) {
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) return String(iso || "");
    const separator = words().locale.startsWith("en") ? ", " : " ";
    return `${dayOf(at)}${separator}${timeOf(iso, false)}`;
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // --- talking to the server -------------------------------------------------------------

  // No final answer: the request got no HTTP answer (network, timeout), or only answers
  // that ask for a retry (5xx, 409 conflict): the last of those is ``answer``.
  class NoAnswer extends Error {
    constructor(message, answer) {
      super(message);
      this.answer = answer || null;
    }
  }

  class Refused extends Error {
    constructor(status, body) {
      const problem = body && typeof body === "object" ? body : {};
      super(problem.detail || problem.title || `HTTP ${status}`);
      this.status = status;
      this.code = typeof problem.code === "string" ? problem.code : `http_${status}`;
      this.detail = typeof problem.detail === "string" ? problem.detail : "";
      this.facts = {}; // what a limit refusal says of its limit (never a balance)
      for (const name of ["limit", "limit_beans", "left_today"]) {
        const value = problem[name];
        if (typeof value === "string" || Number.isInteger(value)) this.facts[name] = value;
      }
    }
  }

  async function send(method, path, { body, type, key } = {}) {
    const headers = { Accept: "application/json, application/problem+json" };
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    if (body !== undefined) headers["Content-Type"] = type || "application/json";
    if (key) headers["Idempotency-Key"] = key;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let response;
    let raw;
    try {
      response = await fetch(path, {
        method,
        headers,
        body,
        signal: controller.signal,
        cache: "no-store",
        credentials: "omit",
      });
      raw = await response.text();
    } catch (error) {
      throw new NoAnswer(String(error && error.message ? error.message : error));
    } finally {
      clearTimeout(timer);
    }
    let parsed = null;
    try {
      parsed = raw ? JSON.parse(raw) : null;
    } catch {
      parsed = raw;
    }
    return {
      status: response.status,
      body: parsed,
      replayed: response.headers.get("Idempotent-Replayed") === "true",
    };
  }

  async function getJson(path) {
    const answer = await send("GET", path);
    if (answer.status >= 400) throw new Refused(answer.status, answer.body);
    return answer.body;
  }

  function retryable(answer) {
    if (answer.status >= 500) return true;
    return answer.status === 409 && answer.body && answer.body.code === "conflict" && !answer.replayed;
  }

  // Send one attempt (same key, same body) until it gets a final answer; NoAnswer if the
  // tries run out. The attempt is left as it is, for the next press of the button.
  async function sendAttempt(attempt) {
    let last = "no attempt";
    let lastAnswer = null;
    for (let round = 0; round <= RETRY_DELAYS_MS.length; round += 1) {
      if (round > 0) await sleep(RETRY_DELAYS_MS[round - 1]);
      try {
        const answer = await send("POST", attempt.path, { body: attempt.text, key: attempt.key });
        if (!retryable(answer)) return answer;
        last = `HTTP ${answer.status}`;
        lastAnswer = answer;
      } catch (error) {
        if (!(error instanceof NoAnswer)) throw error;
        last = error.message;
        lastAnswer = null;
      }
    }
    throw new NoAnswer(last, lastAnswer);
  }

  // Why an attempt got no final answer: the server's word for it if it said one.
  function unsettledCode(error) {
    if (!error.answer) return { code: "network", detail: "" };
    const refusal = new Refused(error.answer.status, error.answer.body);
    return { code: refusal.code, detail: refusal.detail };
  }

  // --- messages --------------------------------------------------------------------------

  function showMessage(message) {
    state.message = message;
    renderMessage();
  }

  function showError(code, detail, vars) {
    showMessage({ kind: "error", code, detail, vars });
  }

  function showRefusal(error) {
    if (error instanceof Refused) showError(error.code, error.detail, error.facts);
    else if (error instanceof NoAnswer) showError("network_read");
    else showError("unknown", String(error));
  }

  function clearMessage() {
    state.message = null;
    renderMessage();
  }

  function renderMessage() {
    const message = state.message;
    el.message.hidden = !message;
    if (!message) return;
    el.message.className = `message ${message.kind}`;
    el.message.dataset.code = message.code || message.key || "";
    el.messageText.textContent = message.code
      ? errorText(message.code, message.detail, message.vars)
      : t(message.key, message.vars);
  }

  function announce(text) {
    el.announce.textContent = "";
    window.setTimeout(() => {
      el.announce.textContent = text;
    }, 50);
  }

  // --- language --------------------------------------------------------------------------

  function applyLanguage() {
    document.documentElement.lang = words().htmlLang;
    document.title = `${t("title")} · Goldbean POS`;
    for (const node of document.querySelectorAll("[data-i18n]")) {
      node.textContent = t(node.dataset.i18n);
    }
    for (const node of document.querySelectorAll("[data-i18n-aria]")) {
      node.setAttribute("aria-label", t(node.dataset.i18nAria));
    }
    el.langToggle.lang = state.lang === "zh" ? "en" : "zh-CN";
    renderBusy();
    renderCodeKind();
    renderMessage();
    renderReceipt();
    renderToday();
    if (state.refundTarget) renderRefundInfo();
  }

  function toggleLanguage() {
    state.lang = state.lang === "zh" ? "en" : "zh";
    writeStorage(LANG_KEY, state.lang);
    applyLanguage();
  }

  // --- signing in ------------------------------------------------------------------------

  async function signIn(token, fromForm) {
    state.token = token;
    let me;
    try {
      me = await getJson(`${API}/me`);
    } catch (error) {
      if (error instanceof NoAnswer) {
        showError("network_read");
        if (!fromForm) window.setTimeout(() => signIn(token, false), POLL_MS);
        if (fromForm) state.token = null;
        return;
      }
      forgetToken();
      el.signIn.hidden = false;
      showRefusal(error);
      return;
    }
    if (!me || me.role !== "merchant" || !me.merchant_id) {
      forgetToken();
      el.signIn.hidden = false;
      showError("not_merchant");
      return;
    }
    writeStorage(TOKEN_KEY, token);
    state.merchantId = me.merchant_id;
    el.token.value = "";
    el.signIn.hidden = true;
    el.till.hidden = false;
    el.signOut.hidden = false;
    try {
      const merchant = await getJson(`${API}/merchants/${encodeURIComponent(me.merchant_id)}`);
      state.merchantName = merchant.name || "";
      if (merchant.status === "suspended") showError("merchant_suspended");
      else if (fromForm) showMessage({ kind: "ok", key: "signedIn", vars: { name: state.merchantName } });
    } catch (error) {
      showRefusal(error);
    }
    el.merchantName.textContent = state.merchantName;
    el.merchantName.hidden = !state.merchantName;
    startPolling();
    el.code.focus();
  }

  // Pairing: the 8-digit code the admin was shown gives this till its terminal's token
  // (POST /api/v1/terminals/pair, public); the token is then kept as if pasted.
  async function pair(typed) {
    if (state.busy) return;
    const code = digitsOf(typed);
    el.pairingCode.value = code;
    if (!/^\d{8}$/.test(code)) {
      el.pairingCode.focus();
      return showError("pair_code");
    }
    clearMessage();
    state.busy = true;
    el.pairButton.disabled = true;
    el.pairButton.textContent = t("pairing");
    let answer;
    try {
      answer = await send("POST", `${API}/terminals/pair`, { body: JSON.stringify({ pairing_code: code }) });
    } catch (error) {
      showRefusal(error);
      return;
    } finally {
      state.busy = false;
      el.pairButton.disabled = false;
      el.pairButton.textContent = t("pair");
    }
    if (answer.status === 201 && answer.body && typeof answer.body.token === "string") {
      el.pairingCode.value = "";
      forgetToken();
      signIn(answer.body.token, true);
      return;
    }
    const refusal = new Refused(answer.status, answer.body);
    if (refusal.code === "invalid_code") showError("pair_invalid");
    else showRefusal(refusal);
    el.pairingCode.select();
  }

  function forgetToken() {
    state.token = null;
    writeStorage(TOKEN_KEY, null);
  }

  function signOut() {
    scanner.stop();
    stopPolling();
    forgetToken();
    Object.assign(state, {
      merchantId: null,
      merchantName: "",
      amount: "",
      attempt: null,
      refundAttempt: null,
      receipt: null,
      today: null,
      known: null,
      updatedAt: null,
    });
    state.mine.clear();
    state.fresh.clear();
    state.rows.clear();
    el.todayList.replaceChildren();
    resetSaleFields();
    el.merchantName.hidden = true;
    el.till.hidden = true;
    el.signOut.hidden = true;
    el.signIn.hidden = false;
    renderReceipt();
    showMessage({ kind: "ok", key: "signedOut" });
    el.pairingCode.focus();
  }

  // --- the sale: code, amount, PIN ---------------------------------------------------------

  function setCode(code) {
    el.code.value = code;
    renderCodeKind();
  }

  function renderCodeKind() {
    if (!el.code) return;
    const code = digitsOf(el.code.value);
    const kind = kindOf(code);
    let hint = "";
    if (kind === "payment") hint = t("codeIsPayment");
    else if (kind === "card") hint = t("codeIsCard");
    else if (code) hint = t("codeIncomplete", { n: code.length });
    el.codeKind.textContent = hint;
    const isCard = kind === "card";
    if (el.pinBox.hidden === isCard) {
      el.pinBox.hidden = !isCard;
      if (!isCard) el.pin.value = "";
    }
  }

  function renderAmount() {
    el.amount.textContent = state.amount || "0";
  }

  function pressKey(key) {
    if (key === "clear") state.amount = "";
    else if (key === "back") state.amount = state.amount.slice(0, -1);
    else if (/^\d$/.test(key) && state.amount.length < MAX_AMOUNT_DIGITS) {
      state.amount = state.amount === "" && key === "0" ? "" : state.amount + key;
    }
    renderAmount();
  }

  function resetSaleFields() {
    setCode("");
    el.pin.value = "";
    state.amount = "";
    renderAmount();
  }

  function renderBusy() {
    el.redeem.disabled = state.busy;
    el.redeem.textContent = t(state.busy ? "redeeming" : "redeem");
    el.redeem.setAttribute("aria-busy", state.busy ? "true" : "false");
  }

  function askForPin() {
    el.pinBox.hidden = false;
    el.pin.value = "";
    el.pin.focus();
  }

  async function redeem(event) {
    event.preventDefault();
    if (state.busy) return;
    const code = digitsOf(el.code.value);
    const kind = kindOf(code);
    const amount = Number.parseInt(state.amount || "0", 10);
    const pin = el.pin.value.trim();
    if (!code) return showError("no_code");
    if (kind === "merchant") return showError("merchant_code");
    if (kind === "checkin") return showError("checkin_code");
    if (!kind) return showError("bad_code");
    if (!(amount > 0)) return showError("no_amount");
    if (pin && !/^\d{4}$/.test(pin)) {
      el.pin.focus();
      return showError("pin_format");
    }
    const body = { code, amount };
    if (pin) body.pin = pin;
    const text = JSON.stringify(body);

    state.busy = true;
    renderBusy();
    clearMessage();
    try {
      if (state.attempt && state.attempt.text !== text) {
        // An earlier attempt got no answer: settle it before anything else is charged.
        const earlier = state.attempt;
        const answer = await sendAttempt(earlier);
        state.attempt = null;
        if (answer.status === 201) {
          finishSale(answer.body, earlier.kind);
          showMessage({ kind: "error", key: "earlierDone", vars: { amount: answer.body.amount } });
          return;
        }
      }
      if (!state.attempt) {
        state.attempt = { path: `${API}/redemptions`, text, key: newKey(), kind };
      }
      const attempt = state.attempt;
      const answer = await sendAttempt(attempt);
      state.attempt = null; // a final answer: this attempt is over
      if (answer.status === 201) {
        finishSale(answer.body, attempt.kind);
        return;
      }
      const refusal = new Refused(answer.status, answer.body);
      showError(refusal.code, refusal.detail, refusal.facts);
      if (refusal.code === "wrong_pin" || refusal.code === "pin_required") askForPin();
      else if (refusal.code === "unauthenticated") signOutQuietly();
      else if (["invalid_code", "code_expired", "code_used", "card_revoked"].includes(refusal.code)) {
        el.code.select();
      }
    } catch (error) {
      if (error instanceof NoAnswer) {
        const why = unsettledCode(error);
        showError(why.code, why.detail);
      } else showError("unknown", String(error));
    } finally {
      state.busy = false;
      renderBusy();
    }
  }

  function signOutQuietly() {
    const message = state.message;
    signOut();
    showMessage(message);
  }

  function finishSale(receipt, kind) {
    state.receipt = { ...receipt, kind };
    state.mine.add(receipt.id);
    resetSaleFields();
    renderReceipt();
    el.receipt.focus();
    refreshToday();
  }

  function renderReceipt() {
    const receipt = state.receipt;
    el.receipt.hidden = !receipt;
    el.sale.hidden = Boolean(receipt); // the receipt stands in for the form until "next sale"
    if (!receipt) return;
    el.receiptAmount.textContent = String(receipt.amount);
    el.receiptTime.textContent = dateTimeOf(receipt.at);
    el.receiptId.textContent = shortId(receipt.id);
    el.receiptId.title = receipt.id;
    el.receiptKind.textContent = t(receipt.kind === "card" ? "kindCard" : "kindPayment");
    // A card sale: what is left on the card (the card is in the cashier's hand).
    const balance = Number.isInteger(receipt.card_balance) ? receipt.card_balance : null;
    el.receiptCardBalanceLabel.hidden = balance === null;
    el.receiptCardBalance.hidden = balance === null;
    el.receiptCardBalance.textContent = balance === null ? "" : t("cardBalance", { n: balance });
  }

  function nextSale() {
    state.receipt = null;
    renderReceipt();
    clearMessage();
    resetSaleFields();
    el.code.focus();
  }

  // --- reading codes from pictures ---------------------------------------------------------

  // The camera and photos are read by GoldbeanScanner (scan.js, loaded before this file);
  // frames the browser cannot read itself go to POST /api/v1/pos/decode with the token.
  async function decodeOnServer(blob) {
    const answer = await send("POST", `${API}/pos/decode`, { body: blob, type: blob.type });
    if (answer.status !== 200) throw new Refused(answer.status, answer.body);
    return Array.isArray(answer.body && answer.body.codes) ? answer.body.codes : [];
  }

  function useScannedCode(code) {
    setCode(code);
    const kind = kindOf(code);
    if (kind === "merchant") return showError("merchant_code");
    if (kind === "checkin") return showError("checkin_code");
    if (!kind) return showError("bad_code");
    showMessage({ kind: "ok", key: "scanned" });
    if (navigator.vibrate) navigator.vibrate(80);
    if (kind === "card") el.pin.focus();
  }

  function makeScanner() {
    return window.GoldbeanScanner.create({
      video: el.video,
      every: SCAN_MS,
      decode: decodeOnServer,
      prefer: (code) => ["payment", "card"].includes(kindOf(code)), // a payment code or card first
      found: useScannedCode,
      started() {
        el.camera.hidden = false;
        el.scan.hidden = true;
      },
      stopped() {
        el.camera.hidden = true;
        el.scan.hidden = false;
      },
      problem(kind, error) {
        if (kind === "no_camera") showError("no_camera");
        else if (kind === "bad_image") showError("bad_image");
        else if (kind === "no_code") showError("no_qr");
        else if (kind === "failed") showRefusal(error);
        else if (kind === "frame" && error instanceof Refused && error.code === "unauthenticated") {
          scanner.stop();
          showRefusal(error);
        } // another frame: the next one may do
      },
    });
  }

  // --- today's list ----------------------------------------------------------------------

  function startPolling() {
    stopPolling();
    refreshToday();
    state.pollTimer = window.setInterval(() => {
      if (!document.hidden) refreshToday();
    }, POLL_MS);
  }

  function stopPolling() {
    if (state.pollTimer !== null) window.clearInterval(state.pollTimer);
    state.pollTimer = null;
  }

  async function refreshToday() {
    if (!state.merchantId) return;
    if (state.polling) {
      state.pollAgain = true; // e.g. a sale ended while the list was being fetched
      return;
    }
    state.polling = true;
    state.pollAgain = false;
    try {
      const merchantId = state.merchantId;
      const day = await getJson(
        `${API}/merchants/${encodeURIComponent(merchantId)}/redemptions?limit=${TODAY_ROWS}`,
      );
      if (merchantId !== state.merchantId) return; // signed out meanwhile
      noticeNewRows(day.items || []);
      state.today = day;
      state.updatedAt = new Date();
      renderToday();
      if (state.message && state.message.code === "network_read") clearMessage();
    } catch (error) {
      if (error instanceof Refused && error.code === "unauthenticated") {
        showRefusal(error);
        signOutQuietly();
      } else if (!(error instanceof NoAnswer) || !state.message) {
        showRefusal(error);
      }
    } finally {
      state.polling = false;
      if (state.pollAgain) refreshToday();
    }
  }

  function noticeNewRows(items) {
    const now = Date.now();
    if (state.known === null) {
      state.known = new Set(items.map((item) => item.id));
      return;
    }
    let found = false;
    for (const item of items) {
      if (state.known.has(item.id)) continue;
      found = true;
      state.known.add(item.id);
      state.fresh.set(item.id, now + FRESH_MS);
      if (!state.mine.has(item.id)) announce(t("newPayment", { amount: item.amount }));
    }
    if (found) window.setTimeout(renderToday, FRESH_MS + 100); // to end the highlight
  }

  function renderToday() {
    const day = state.today;
    if (!el.todayList) return;
    if (state.updatedAt) el.todayUpdated.textContent = t("updatedAt", { time: timeOf(state.updatedAt, true) });
    if (!day) return;
    const items = day.items || []; // the newest TODAY_ROWS; the figures are the whole day's
    const refunded = day.refunded;
    el.totalCount.textContent = String(day.count);
    el.totalRedeemed.textContent = String(day.total);
    el.totalRefunded.textContent = String(refunded);
    el.totalNet.textContent = String(day.total - refunded);
    el.todayEmpty.hidden = items.length > 0;

    const now = Date.now();
    const wanted = new Set(items.map((item) => item.id));
    for (const [id, row] of state.rows) {
      if (!wanted.has(id)) {
        row.remove();
        state.rows.delete(id);
      }
    }
    items.forEach((item, index) => {
      let row = state.rows.get(item.id);
      if (!row) {
        row = makeRow();
        state.rows.set(item.id, row);
      }
      fillRow(row, item, (state.fresh.get(item.id) || 0) > now);
      if (el.todayList.children[index] !== row) {
        el.todayList.insertBefore(row, el.todayList.children[index] || null);
      }
    });
  }

  function makeRow() {
    const row = document.createElement("li");
    row.className = "row";
    const what = document.createElement("div");
    what.className = "what";
    for (const name of ["time", "amount", "refunded", "id"]) {
      const span = document.createElement("span");
      span.className = name;
      what.append(span);
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "refund secondary";
    button.addEventListener("click", () => openRefund(row.dataset.id));
    row.append(what, button);
    return row;
  }

  function fillRow(row, item, fresh) {
    const left = item.amount - (item.refunded || 0);
    row.dataset.id = item.id;
    row.classList.toggle("fresh", fresh);
    row.classList.toggle("fully-refunded", left <= 0);
    row.querySelector(".time").textContent = timeOf(item.at, false);
    row.querySelector(".amount").textContent = `${item.amount} ${t("beans")}`;
    const refunded = row.querySelector(".refunded");
    refunded.textContent = item.refunded ? t("refunded", { n: item.refunded }) : "";
    refunded.hidden = !item.refunded;
    row.querySelector(".id").textContent = shortId(item.id);
    row.setAttribute(
      "aria-label",
      t("rowLabel", { time: timeOf(item.at, false), amount: item.amount, id: shortId(item.id) }),
    );
    const button = row.querySelector("button.refund");
    button.textContent = t("refund");
    button.setAttribute("aria-label", t("refundRowLabel", { id: shortId(item.id) }));
    button.disabled = left <= 0;
  }

  // --- refunds ---------------------------------------------------------------------------

  function itemOf(id) {
    const items = (state.today && state.today.items) || [];
    return items.find((item) => item.id === id) || null;
  }

  function openRefund(id) {
    const item = itemOf(id);
    if (!item) return;
    state.refundTarget = item;
    const left = item.amount - (item.refunded || 0);
    el.refundAmount.value = String(left);
    el.refundAmount.max = String(left);
    el.refundError.hidden = true;
    renderRefundInfo();
    if (typeof el.refundDialog.showModal === "function") el.refundDialog.showModal();
    else el.refundDialog.setAttribute("open", "");
    el.refundAmount.select();
  }

  function renderRefundInfo() {
    const item = state.refundTarget;
    if (!item) return;
    el.refundInfo.textContent = t("refundInfo", {
      id: shortId(item.id),
      time: timeOf(item.at, false),
      amount: item.amount,
      left: item.amount - (item.refunded || 0),
    });
  }

  function closeRefund() {
    state.refundTarget = null;
    if (typeof el.refundDialog.close === "function") el.refundDialog.close();
    else el.refundDialog.removeAttribute("open");
  }

  function refundError(code, detail, vars) {
    el.refundError.textContent = errorText(code, detail, vars);
    el.refundError.dataset.code = code;
    el.refundError.hidden = false;
  }

  async function confirmRefund(event) {
    event.preventDefault();
    const item = state.refundTarget;
    if (!item || state.busy) return;
    const left = item.amount - (item.refunded || 0);
    const amount = Number(el.refundAmount.value);
    if (!Number.isInteger(amount) || amount < 1 || amount > left) {
      refundError("refund_amount", "", { left });
      return;
    }
    const path = `${API}/redemptions/${encodeURIComponent(item.id)}/refunds`;
    const text = JSON.stringify({ amount });
    const pending = state.refundAttempt;
    if (!pending || pending.path !== path || pending.text !== text) {
      state.refundAttempt = { path, text, key: newKey() };
    }
    state.busy = true;
    el.refundConfirm.disabled = true;
    el.refundError.hidden = true;
    try {
      const answer = await sendAttempt(state.refundAttempt);
      state.refundAttempt = null;
      if (answer.status === 201) {
        closeRefund();
        showMessage({ kind: "ok", key: "refundDone", vars: { n: answer.body.amount, id: shortId(item.id) } });
        refreshToday();
      } else {
        const refusal = new Refused(answer.status, answer.body);
        refundError(refusal.code, refusal.detail);
      }
    } catch (error) {
      if (error instanceof NoAnswer) {
        const why = unsettledCode(error);
        refundError(why.code, why.detail);
      } else refundError("unknown", String(error));
    } finally {
      state.busy = false;
      el.refundConfirm.disabled = false;
    }
  }

  // --- start -----------------------------------------------------------------------------

  function bind() {
    const ids = {
      message: "message",
      messageText: "message-text",
      messageClose: "message-close",
      langToggle: "lang-toggle",
      signOut: "sign-out",
      merchantName: "merchant-name",
      signIn: "sign-in",
      signInForm: "sign-in-form",
      token: "token",
      till: "till",
      sale: "sale",
      saleForm: "sale-form",
      code: "code",
      codeKind: "code-kind",
      scan: "scan",
      photoButton: "photo-button",
      photo: "photo",
      camera: "camera",
      video: "video",
      scanStop: "scan-stop",
      amount: "amount",
      pinBox: "pin-box",
      pin: "pin",
      redeem: "redeem",
      receipt: "receipt",
      receiptAmount: "receipt-amount",
      receiptTime: "receipt-time",
      receiptId: "receipt-id",
      receiptKind: "receipt-kind",
      receiptCardBalanceLabel: "receipt-card-balance-label",
      receiptCardBalance: "receipt-card-balance",
      pairForm: "pair-form",
      pairingCode: "pairing-code",
      pairButton: "pair-button",
      nextSale: "next-sale",
      totalCount: "total-count",
      totalRedeemed: "total-redeemed",
      totalRefunded: "total-refunded",
      totalNet: "total-net",
      todayEmpty: "today-empty",
      todayList: "today-list",
      todayUpdated: "today-updated",
      refundDialog: "refund-dialog",
      refundForm: "refund-form",
      refundInfo: "refund-info",
      refundAmount: "refund-amount",
      refundError: "refund-error",
      refundCancel: "refund-cancel",
      refundConfirm: "refund-confirm",
      announce: "announce",
    };
    for (const [name, id] of Object.entries(ids)) el[name] = $(id);

    el.langToggle.addEventListener("click", toggleLanguage);
    el.signOut.addEventListener("click", signOut);
    el.messageClose.addEventListener("click", clearMessage);
    el.signInForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const token = el.token.value.trim();
      if (token) {
        clearMessage();
        signIn(token, true);
      }
    });
    el.pairForm.addEventListener("submit", (event) => {
      event.preventDefault();
      pair(el.pairingCode.value);
    });
    el.saleForm.addEventListener("submit", redeem);
    el.code.addEventListener("input", renderCodeKind);
    scanner = makeScanner();
    el.scan.addEventListener("click", () => {
      clearMessage();
      scanner.start();
    });
    el.scanStop.addEventListener("click", () => scanner.stop());
    el.photoButton.addEventListener("click", () => el.photo.click());
    el.photo.addEventListener("change", () => {
      if (el.photo.files && el.photo.files[0]) clearMessage();
      scanner.readPhoto(el.photo);
    });
    for (const button of document.querySelectorAll(".keypad button")) {
      button.addEventListener("click", () => pressKey(button.dataset.key));
    }
    el.nextSale.addEventListener("click", nextSale);
    el.refundForm.addEventListener("submit", confirmRefund);
    el.refundCancel.addEventListener("click", closeRefund);
    el.refundDialog.addEventListener("close", () => {
      state.refundTarget = null;
    });
    document.addEventListener("keydown", (event) => {
      // A hardware keyboard types the amount when no field has the focus.
      const target = event.target;
      if (el.till.hidden || el.sale.hidden || event.ctrlKey || event.metaKey || event.altKey) return;
      if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return;
      if (el.refundDialog.open) return;
      if (/^\d$/.test(event.key)) pressKey(event.key);
      else if (event.key === "Backspace") pressKey("back");
      else if (event.key === "Escape") pressKey("clear");
      else return;
      event.preventDefault();
    });
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && state.merchantId) refreshToday(); // (the scanner stops the camera)
    });
  }

  function start() {
    bind();
    applyLanguage();
    renderAmount();
    const given = /^#pair=(\d{8})$/.exec(window.location.hash);
    if (given) {
      // Opened from the admin's pairing QR code: the code is after "#", never sent in a
      // request; take it out of the address and the history, and pair with it.
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
      el.signIn.hidden = false;
      pair(given[1]);
      return;
    }
    const token = readStorage(TOKEN_KEY);
    if (token) {
      el.signIn.hidden = true;
      signIn(token, false);
    } else {
      el.pairingCode.focus();
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
