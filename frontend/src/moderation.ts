/*
 * The moderator pages' keys and the queue's live updates, loaded only on those pages.
 *
 * Queue: n works on the next item; j/k and Enter (from app.ts) pick one from the list.
 * Item: 1–5 choose the action, h hides the author's messages with a ban, i goes to the
 * note, Enter resolves and opens the next item, u skips, q goes back to the queue.
 * The list refreshes itself when the server says the queue changed (app.ts passes the
 * websocket's events on as "arbor:live" DOM events).
 */

import { isTyping } from "./typing";

interface Htmx {
  ajax(verb: string, path: string, context: Record<string, unknown>): Promise<void>;
}

interface LiveEvent {
  type: string;
  payload: Record<string, unknown>;
}

function submit(selector: string): boolean {
  const form = document.querySelector<HTMLFormElement>(selector);
  if (!form) return false;
  form.requestSubmit();
  return true;
}

function chooseAction(key: string): boolean {
  const input = document.querySelector<HTMLInputElement>(`[data-resolve-form] input[data-action-key="${key}"]`);
  if (!input || input.disabled) return false;
  input.checked = true;
  input.focus();
  return true;
}

function onKeydown(event: KeyboardEvent): void {
  if (event.defaultPrevented && event.key !== "i") return;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  if (document.querySelector("dialog[open]") || isTyping(event.target)) return;
  const key = event.key;
  const target = event.target as Element;
  let handled = true;
  if (key === "n") handled = submit("[data-next-form]");
  else if (/^[1-9]$/.test(key)) handled = chooseAction(key);
  else if (key === "h") {
    const box = document.querySelector<HTMLInputElement>("[data-hide-messages]");
    if (box) box.checked = !box.checked;
    handled = box !== null;
  } else if (key === "i") {
    const note = document.querySelector<HTMLTextAreaElement>("[data-note]");
    note?.focus();
    handled = note !== null;
  } else if (key === "u") handled = submit("[data-release-form]");
  else if (key === "q") {
    const link = document.querySelector<HTMLAnchorElement>("[data-queue-link]");
    if (link) window.location.assign(link.href);
    handled = link !== null;
  } else if (key === "Enter" && !target.closest("a, button, summary")) {
    handled = submit("[data-resolve-form]");
  } else handled = false;
  if (handled) event.preventDefault();
}

// --- The queue's live list ---------------------------------------------------------------

let refreshTimer: number | undefined;

function refreshQueue(): void {
  const holder = document.querySelector<HTMLElement>("[data-moderation-queue]");
  const htmx = (window as unknown as { htmx?: Htmx }).htmx;
  if (!holder?.dataset.listUrl || !htmx) return;
  window.clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(() => {
    // Keep the keyboard on the same item across the swap.
    const focused = document.activeElement?.closest<HTMLElement>("[data-queue-item]")?.dataset.queueItem;
    void htmx
      .ajax("GET", holder.dataset.listUrl ?? "", { target: "#queue-list", swap: "outerHTML" })
      .then(() => {
        if (!focused) return;
        document.querySelector<HTMLElement>(`[data-queue-item="${focused}"] [data-nav-item]`)?.focus();
      });
  }, 250);
}

function onLive(event: Event): void {
  const live = (event as CustomEvent<LiveEvent>).detail;
  if (live?.type === "moderation.queue.changed") refreshQueue();
}

document.addEventListener("keydown", onKeydown);
document.addEventListener("arbor:live", onLive);
