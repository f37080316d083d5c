// Building DOM nodes without innerHTML: every value from the API lands in a text node, never in markup.

/** An element: h("td", {class: "num"}, "2.450"); attributes starting with "on" are event listeners. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/**
 * A table: columns are [heading, cell(row) => content, className?]; rows an array.
 * An empty list shows `empty` in one cell spanning the table.
 */
export function table(columns, rows, { empty = "nothing yet", caption, rowAttrs } = {}) {
  const head = h("thead", {}, h("tr", {}, columns.map(([title, , cls]) => h("th", { class: cls }, title))));
  const body = h("tbody");
  if (!rows.length) body.append(h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, empty)));
  for (const row of rows) {
    body.append(
      h("tr", rowAttrs ? rowAttrs(row) : {}, columns.map(([, cell, cls]) => h("td", { class: cls }, cell(row)))),
    );
  }
  return h("div", { class: "table-wrap" }, h("table", {}, caption ? h("caption", {}, caption) : null, head, body));
}

/** A titled panel. */
export function panel(title, ...children) {
  return h("section", { class: "panel" }, h("h2", {}, title), ...children);
}

/** A labelled form field around an input or select. */
export function field(label, control, hint) {
  return h("label", { class: "field" }, h("span", {}, label), control, hint ? h("small", {}, hint) : null);
}

/** A <select> of [value, label] pairs (or plain values). */
export function select(name, options, value) {
  return h(
    "select",
    { name },
    options.map((option) => {
      const [v, label] = Array.isArray(option) ? option : [option, option];
      return h("option", { value: v, selected: v === value }, label);
    }),
  );
}

/** Key/value pairs as a definition list. */
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "—")]));
}
