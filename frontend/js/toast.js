// Dismissable toasts. Messages are rendered as text only.
import { el } from "./dom.js";

const MAX_TOASTS = 4;

function region() {
  let r = document.getElementById("toasts");
  if (!r) {
    r = el("div", { id: "toasts", class: "toasts", "aria-live": "assertive", "aria-atomic": "false" });
    document.body.appendChild(r);
  }
  return r;
}

/**
 * Show a toast.
 * @param {{message: string, code?: string, kind?: "error"|"info"|"success", timeout?: number,
 *          action?: {label: string, onClick: () => void}}} opts
 * Errors stay until dismissed; info and success toasts fade after `timeout` ms (default 5000).
 * Returns a function that dismisses the toast.
 */
export function showToast({ message, code, kind = "error", timeout, action } = {}) {
  const r = region();
  const dismiss = () => {
    if (!node.isConnected) return;
    node.classList.add("toast--leaving");
    setTimeout(() => node.remove(), 160);
  };
  const node = el(
    "div",
    { class: `toast toast--${kind}`, role: kind === "error" ? "alert" : "status", "data-testid": "toast", "data-code": code || null },
    el("span", { class: "toast__icon", "aria-hidden": "true", text: kind === "error" ? "!" : kind === "success" ? "\u2713" : "i" }),
    el(
      "div",
      { class: "toast__body" },
      el("p", { class: "toast__message", "data-testid": "toast-message", text: message || "Something went wrong." }),
      code ? el("p", { class: "toast__code", text: code }) : null,
      action
        ? el("button", {
            type: "button",
            class: "btn btn--small btn--ghost toast__action",
            text: action.label,
            onclick: () => {
              dismiss();
              action.onClick();
            },
          })
        : null,
    ),
    el("button", {
      type: "button",
      class: "toast__close",
      "aria-label": "Dismiss",
      "data-testid": "toast-dismiss",
      text: "\u00D7",
      onclick: dismiss,
    }),
  );
  r.appendChild(node);
  while (r.children.length > MAX_TOASTS) r.firstElementChild.remove();
  const ms = timeout ?? (kind === "error" ? 0 : 5000);
  if (ms > 0) setTimeout(dismiss, ms);
  return dismiss;
}

export function clearToasts() {
  const r = document.getElementById("toasts");
  if (r) while (r.firstChild) r.removeChild(r.firstChild);
}
