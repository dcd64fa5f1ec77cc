// Tiny DOM helpers. Text is only ever set through textContent / text nodes — never parsed as HTML —
// so candidate and interviewer words can never become markup.

const BOOLEAN_PROPS = new Set(["disabled", "hidden", "checked", "selected", "readOnly", "required", "open"]);

/**
 * Build an element.
 *   el("button", {class: "btn", "data-testid": "send", onclick: fn, disabled: true}, "Send")
 * attrs:
 *   class / className  → className
 *   text               → textContent
 *   on<event>: fn      → addEventListener(event, fn)
 *   style: {..}        → style properties
 *   boolean props      → set as properties (false / null leaves them off)
 *   anything else      → setAttribute (null / undefined / false skipped)
 * children: strings and numbers become text nodes; nodes are appended; arrays are flattened;
 * null / undefined / false are skipped.
 */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null) continue;
      if (key === "class" || key === "className") {
        if (value) node.className = value;
      } else if (key === "text") {
        node.textContent = String(value);
      } else if (key === "style" && typeof value === "object") {
        Object.assign(node.style, value);
      } else if (key.startsWith("on") && typeof value === "function") {
        node.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (BOOLEAN_PROPS.has(key)) {
        node[key] = Boolean(value);
      } else if (value === false) {
        continue;
      } else {
        node.setAttribute(key, value === true ? "" : String(value));
      }
    }
  }
  append(node, children);
  return node;
}

/** Append children (strings become text nodes). */
export function append(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Remove every child of a node. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** Replace the children of a node. */
export function replaceChildren(node, ...children) {
  clear(node);
  return append(node, children);
}

/** Put a string in curly quotation marks (as text, not markup). */
export function quoted(text) {
  return `\u201C${String(text ?? "").trim()}\u201D`;
}

/** Shorten a string to n characters on a word boundary. */
export function snippet(text, n = 90) {
  const s = String(text ?? "").replace(/\s+/g, " ").trim();
  if (s.length <= n) return s;
  const cut = s.slice(0, n);
  const space = cut.lastIndexOf(" ");
  return `${(space > n * 0.6 ? cut.slice(0, space) : cut).trimEnd()}\u2026`;
}
