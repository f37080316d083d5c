// The public HTTP API, as any client calls it. The API key lives in this tab's sessionStorage only:
// it is gone when the tab closes and never written to localStorage, a cookie or the URL. Every call
// goes through `send`, which follows a book to the process holding it (421 book_elsewhere) and waits
// while it moves (503 book_moving).

import { h } from "./dom.js";

const KEY = "flopex.api_key";
const listeners = new Set();

export function apiKey() {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
  for (const listener of listeners) listener(key);
}

/** Call `listener(key | null)` whenever the user signs in or out. */
export function onKeyChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** An RFC 9457 problem answered by the API (or made up here when the network itself failed). */
export class Problem extends Error {
  constructor(body) {
    super(body.detail || body.title || "request failed");
    this.body = body;
    this.status = body.status;
    this.code = body.code;
  }
}

const FOLLOWS = 3; // 421 book_elsewhere answers followed in a row before giving up
const MOVING_FOR_MS = 30_000; // how long a request is retried while its book moves (503 book_moving)
const FIRST_WAIT_MS = 250; // the first wait before a retry; doubles up to Retry-After (or MAX_WAIT_MS)
const MAX_WAIT_MS = 1_000;
let movingWaits = 0;

/** Show the "book moving" notice while any request or stream channel waits for a book that moves (`delta` = +1 / -1). */
export function bookMoving(delta) {
  movingWaits += delta;
  const notice = document.getElementById("book-moving");
  if (notice) notice.hidden = movingWaits === 0;
}

/** The base URL a `421 book_elsewhere` names (`owner`), without a trailing slash, if it is http(s). */
function ownerBase(owner) {
  if (typeof owner !== "string") return null;
  try {
    const url = new URL(owner);
    return url.protocol === "http:" || url.protocol === "https:" ? owner.replace(/\/+$/, "") : null;
  } catch {
    return null;
  }
}

/** The decoded problem of an error response (or one made of its status and text). */
async function problemOf(response) {
  const text = await response.text();
  let decoded = null;
  try {
    decoded = text ? JSON.parse(text) : null;
  } catch {
    decoded = null;
  }
  return decoded && typeof decoded === "object" ? decoded : { status: response.status, title: response.statusText, detail: text };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Send a request to the API (headers as `call` describes); resolves to the Response or rejects with a Problem.
 *
 * Several `flopex serve` processes may serve one exchange (docs/scaling.md), and only one holds a
 * given book. A request this page's process does not hold the book for is answered `421
 * book_elsewhere` with the holder's base URL in `owner`: nothing was done, so the same request
 * (same body, same Idempotency-Key) is sent there, whichever process it names. While the book moves
 * (`503 book_moving`, or the holder just named does not answer) it is retried from this page's own
 * process after a short wait, with the "book moving" notice shown, for up to MOVING_FOR_MS.
 */
async function send(method, path, { query, body, auth = false, idempotent = false, accept = "application/json" } = {}) {
  const headers = { Accept: accept };
  if (auth) {
    const key = apiKey();
    if (!key) throw new Problem({ status: 401, code: "unauthorized", title: "Sign in first", detail: "this needs an API key" });
    headers.Authorization = `Bearer ${key}`;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotent) headers["Idempotency-Key"] = crypto.randomUUID();
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const started = Date.now();
  let base = null; // null: this page's own process; else the holder a 421 named
  let follows = 0;
  let wait = FIRST_WAIT_MS;
  let noticed = false;
  try {
    for (;;) {
      const url = base === null ? new URL(path, location.origin) : new URL(base + path);
      for (const [name, value] of Object.entries(query || {})) {
        if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
      }
      let response = null;
      try {
        response = await fetch(url, { method, headers, body: payload });
      } catch (error) {
        if (base === null) throw new Problem({ status: 0, code: "network_error", title: "Network error", detail: String(error.message || error) });
      }
      if (response && response.ok) return response;
      const problem = response
        ? await problemOf(response)
        : { status: 503, code: "book_moving", title: "Book moving", detail: `${base} holds the book but does not answer this page (it may have just stopped; reload the page if it started after this one)` };
      const owner = ownerBase(problem.owner);
      if (response && response.status === 421 && problem.code === "book_elsewhere" && owner && follows < FOLLOWS) {
        base = owner;
        follows += 1;
        continue;
      }
      if (problem.code === "book_moving" && Date.now() - started < MOVING_FOR_MS) {
        if (!noticed) bookMoving(+1);
        noticed = true;
        const after = Number(response && response.headers.get("Retry-After")) * 1000;
        await sleep(Math.min(wait, after > 0 ? after : MAX_WAIT_MS));
        wait = Math.min(wait * 2, MAX_WAIT_MS);
        base = null;
        follows = 0;
        continue;
      }
      throw new Problem(problem);
    }
  } finally {
    if (noticed) bookMoving(-1);
  }
}

/**
 * Call the API: `query` becomes the query string (null values dropped), `body` is sent as JSON,
 * `auth` sends the signed-in key. Resolves to the decoded JSON (null for 204); rejects with a Problem.
 */
export async function call(method, path, options = {}) {
  const response = await send(method, path, options);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/**
 * Save what GET `path` answers (e.g. a CSV) as the file `filename`: fetched with the signed-in key,
 * which a plain link could not send, then handed to the browser as a download from memory.
 */
export async function download(path, query, filename, accept = "text/csv") {
  const response = await send("GET", path, { query, auth: true, accept });
  const url = URL.createObjectURL(await response.blob());
  try {
    const link = h("a", { href: url, download: filename, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

export const get = (path, query, auth = false) => call("GET", path, { query, auth });

/** Every item of a paged list (follows next_cursor up to `max` items). */
export async function getAll(path, query = {}, { auth = false, max = 5000 } = {}) {
  const items = [];
  let cursor = null;
  do {
    const page = await call("GET", path, { query: { ...query, limit: 500, cursor }, auth });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

/** Run `work(item)` over `items`, at most `limit` at once (the API rate-limits each client). */
export async function mapLimited(items, limit, work) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A problem as the user sees it: title, status and code, the detail, and each field's reason. */
export function problemView(error) {
  const body = error instanceof Problem ? error.body : { title: "Error", detail: String(error && error.message ? error.message : error) };
  const head = [body.title || "Error", body.status ? ` (${body.status})` : ""].join("");
  return h(
    "div",
    { class: "problem", role: "alert", dataset: { code: body.code || "" } },
    h("strong", {}, head),
    body.code ? h("code", {}, body.code) : null,
    body.detail ? h("p", {}, body.detail) : null,
    Array.isArray(body.errors) && body.errors.length
      ? h("ul", {}, body.errors.map((e) => h("li", {}, h("code", {}, e.field), " ", e.reason)))
      : null,
  );
}
