// The shell: sign-in, navigation and a fragment router (#/markets/H100, #/instrument/H100-2027-01,
// #/portfolio, #/provider, #/quant). Each view module exports render(root, args) and may return a
// cleanup function, called when the user leaves the view (streams unsubscribed, charts removed).

import { Problem, apiKey, get, onKeyChange, problemView, setApiKey } from "./api.js";
import { fill, h } from "./dom.js";
import { stream } from "./stream.js";
import { syncClock } from "./time.js";

const VIEWS = {
  markets: () => import("./pages/markets.js"),
  instrument: () => import("./pages/instrument.js"),
  portfolio: () => import("./pages/portfolio.js"),
  desk: () => import("./pages/desk.js"),
  pools: () => import("./pages/pools.js"),
  provider: () => import("./pages/provider.js"),
  quant: () => import("./pages/quant.js"),
};

const view = document.getElementById("view");
let cleanup = null;
let generation = 0;

/** The signed-in account ({account, balances, ...} of GET /v1/me), or null. */
export let me = null;

async function route() {
  const [name = "markets", ...args] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const section = VIEWS[name] ? name : "markets";
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.section === section || (section === "instrument" && link.dataset.section === "markets"));
  }
  const mine = ++generation;
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  view.dataset.ready = "";
  // The view renders into a node already in the document, so charts know their size from the start.
  const root = h("div", { class: `page page-${section}` }, h("p", { class: "loading" }, "Loading…"));
  fill(view, root);
  try {
    const module = await VIEWS[section]();
    const done = await module.render(root, args);
    if (mine !== generation) {
      if (typeof done === "function") done();
      return;
    }
    cleanup = typeof done === "function" ? done : null;
  } catch (error) {
    if (mine !== generation) return;
    fill(root, problemView(error));
  }
  view.dataset.ready = section;
  document.title = `flopex · ${section}`;
}

async function refreshSession() {
  const box = document.getElementById("session");
  me = null;
  if (!apiKey()) {
    const input = h("input", { type: "password", name: "api_key", placeholder: "API key (flx_…)", autocomplete: "off", required: true, "aria-label": "API key" });
    const message = h("div", { class: "session-error" });
    const form = h(
      "form",
      {
        class: "signin",
        onsubmit: async (event) => {
          event.preventDefault();
          setApiKey(input.value.trim());
          try {
            await get("/v1/me", {}, true);
          } catch (error) {
            setApiKey(null);
            fill(message, problemView(error));
          }
        },
      },
      input,
      h("button", { type: "submit" }, "Sign in"),
      message,
    );
    fill(box, form);
    return;
  }
  try {
    me = await get("/v1/me", {}, true);
    fill(
      box,
      h("span", { class: "who", title: me.account.id }, me.account.name, " · ", me.account.roles.join(", ")),
      h("button", { type: "button", class: "link", onclick: () => setApiKey(null) }, "Sign out"),
    );
  } catch (error) {
    if (error instanceof Problem && error.status === 401) setApiKey(null);
    else fill(box, problemView(error));
  }
}

const statusLabel = document.getElementById("stream-status");
stream.onStatus((state) => {
  statusLabel.textContent = `stream: ${state}`;
  statusLabel.dataset.state = state;
});

onKeyChange(async () => {
  await refreshSession();
  route();
});
window.addEventListener("hashchange", route);
Promise.all([syncClock(), refreshSession()]).then(route);
