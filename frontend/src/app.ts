/*
 * Arbor's behaviour in the browser, on top of server-rendered pages and htmx:
 * hotkeys, the label and ranking widgets (drag and drop and keyboard), the reply box's
 * counter and draft, dialogs, error display and live notifications over the websocket.
 *
 * Every word shown comes from the page (translated on the server, #arbor-strings), so
 * this file needs no message catalogue.
 */

import { initQualityCheck } from "./quality_check";
import { isTyping } from "./typing";

interface Htmx {
  config: Record<string, unknown>;
  onLoad(callback: (element: Element) => void): void;
  ajax(verb: string, path: string, context: Record<string, unknown>): Promise<void>;
}

declare global {
  interface Window {
    htmx: Htmx;
  }
}

type Strings = Record<string, string>;

let strings: Strings = {};

function format(template: string | undefined, values: Record<string, string | number>): string {
  return (template ?? "").replace(/\{(\w+)\}/g, (match, name: string) =>
    name in values ? String(values[name]) : match,
  );
}

function openDialog(id: string): HTMLDialogElement | null {
  const dialog = document.getElementById(id);
  if (!(dialog instanceof HTMLDialogElement) || dialog.open) return null;
  dialog.showModal();
  const first = dialog.querySelector<HTMLElement>(
    "input:checked, textarea, input:not([type=hidden]), button",
  );
  // Focus without scrolling: on a phone the first control may be the Close button at
  // the bottom of a long sheet, and the sheet must open at its title.
  first?.focus({ preventScroll: true });
  dialog.scrollTop = 0;
  return dialog;
}

function openDialogOf(): HTMLDialogElement | null {
  return document.querySelector<HTMLDialogElement>("dialog[open]");
}

// --- Toasts ----------------------------------------------------------------------------

function toast(text: string, link?: string): void {
  const area = document.getElementById("toasts");
  if (!area) return;
  const item = document.createElement("div");
  item.className = "toast";
  item.dataset.toast = "";
  const message = document.createElement("span");
  message.textContent = text;
  item.append(message);
  if (link) {
    const anchor = document.createElement("a");
    anchor.href = link;
    anchor.textContent = strings.view ?? "View";
    item.append(anchor);
  }
  const close = document.createElement("button");
  close.type = "button";
  close.setAttribute("aria-label", "×");
  close.textContent = "×";
  close.addEventListener("click", () => item.remove());
  item.append(close);
  area.append(item);
  window.setTimeout(() => item.remove(), 20000);
}

// --- Reply box: counter and draft --------------------------------------------------------

function initTextarea(textarea: HTMLTextAreaElement): void {
  const limit = Number(textarea.dataset.maxLength ?? 0);
  const counter = textarea.closest(".field")?.querySelector<HTMLElement>("[data-char-count]");
  const draftKey = textarea.dataset.draftKey;
  if (draftKey && textarea.value === "") {
    const draft = window.sessionStorage.getItem(draftKey);
    if (draft) textarea.value = draft;
  }
  const update = (): void => {
    const count = textarea.value.trim().length;
    if (counter) {
      const over = limit > 0 && count > limit;
      counter.textContent =
        `${count} / ${limit}` + (over ? ` · ${format(strings.too_long, { over: count - limit })}` : "");
      counter.classList.toggle("is-over", over);
      counter.setAttribute("aria-label", format(strings.characters, { count, limit }));
    }
    if (draftKey) window.sessionStorage.setItem(draftKey, textarea.value);
  };
  textarea.addEventListener("input", update);
  update();
}

// --- Labels: flags (y/n) and Likert scales (1–5) ----------------------------------------

class LabelRows {
  private rows: HTMLElement[];
  private current = 0;

  constructor(root: Element) {
    this.rows = Array.from(root.querySelectorAll<HTMLElement>("[data-label-row]"));
    const withError = this.rows.findIndex((row) => row.classList.contains("has-error"));
    this.current = withError >= 0 ? withError : 0;
    this.rows.forEach((row, index) =>
      row.addEventListener("focusin", () => {
        this.current = index;
        this.highlight(false);
      }),
    );
    this.highlight(false);
  }

  get isEmpty(): boolean {
    return this.rows.length === 0;
  }

  focus(): void {
    this.highlight(true);
  }

  private highlight(focus: boolean): void {
    this.rows.forEach((row, index) => row.classList.toggle("is-current", index === this.current));
    const row = this.rows[this.current];
    if (focus && row) {
      // Moving onto a folded-away optional question unfolds its group.
      const group = row.closest("details");
      if (group && !group.open) group.open = true;
      const input =
        row.querySelector<HTMLInputElement>("input:checked") ?? row.querySelector<HTMLInputElement>("input");
      input?.focus();
      row.scrollIntoView({ block: "nearest" });
    }
  }

  move(delta: number): void {
    this.current = Math.max(0, Math.min(this.rows.length - 1, this.current + delta));
    this.highlight(true);
  }

  handleKey(key: string): boolean {
    const row = this.rows[this.current];
    if (!row) return false;
    const inputs = Array.from(row.querySelectorAll<HTMLInputElement>("input[type=radio]"));
    let value: string | null = null;
    if (key === "x") {
      inputs.forEach((input) => (input.checked = false));
      return true;
    }
    if (row.dataset.labelKind === "flag") {
      if (key === "y") value = "1";
      if (key === "n") value = "0";
    } else if (/^[1-5]$/.test(key)) {
      value = inputs[Number(key) - 1]?.value ?? null;
    }
    if (value === null) return false;
    const input = inputs.find((candidate) => candidate.value === value);
    if (!input) return false;
    input.checked = true;
    input.dispatchEvent(new Event("change", { bubbles: true }));
    const next = this.rows[this.current + 1];
    // Answering goes on to the next question, but not into a folded optional group
    // (j opens it): after the last required answer, the person can send.
    if (next && !next.closest("details:not([open])")) this.move(1);
    else this.highlight(true);
    return true;
  }
}

// --- Ranking: drag and drop (pointer events: mouse, touch, pen) and keyboard ------------

class RankList {
  private current = 0;
  private dragging: HTMLElement | null = null;

  constructor(
    private list: HTMLElement,
    private input: HTMLInputElement,
    private live: HTMLElement | null,
  ) {
    list.addEventListener("pointerdown", (event) => this.dragStart(event));
    list.addEventListener("pointermove", (event) => this.dragMove(event));
    list.addEventListener("pointerup", (event) => this.dragEnd(event));
    list.addEventListener("pointercancel", (event) => this.dragEnd(event));
    list.addEventListener("click", (event) => {
      const button = (event.target as Element).closest<HTMLElement>("[data-move]");
      if (!button) return;
      const item = button.closest<HTMLElement>(".rank-item");
      if (!item) return;
      this.current = this.items().indexOf(item);
      this.moveCurrent(Number(button.dataset.move), false);
      button.focus();
    });
    list.addEventListener("focusin", (event) => {
      const item = (event.target as Element).closest<HTMLElement>(".rank-item");
      if (item) this.current = this.items().indexOf(item);
      this.mark();
    });
    this.sync();
  }

  private items(): HTMLElement[] {
    return Array.from(this.list.querySelectorAll<HTMLElement>(".rank-item"));
  }

  private mark(): void {
    this.items().forEach((item, index) => {
      item.classList.toggle("is-current", index === this.current);
      item.tabIndex = index === this.current ? 0 : -1;
    });
  }

  focus(): void {
    this.select(this.current);
  }

  select(index: number): void {
    const items = this.items();
    this.current = Math.max(0, Math.min(items.length - 1, index));
    this.mark();
    items[this.current]?.focus();
    items[this.current]?.scrollIntoView({ block: "nearest" });
  }

  move(delta: number): void {
    this.select(this.current + delta);
  }

  moveCurrent(delta: number, focus = true): void {
    const items = this.items();
    const item = items[this.current];
    const target = this.current + delta;
    if (!item || target < 0 || target >= items.length) return;
    const other = items[target];
    if (delta > 0) other.after(item);
    else other.before(item);
    this.current = target;
    this.sync();
    this.announce(item);
    if (focus) this.select(target);
    else this.mark();
  }

  private sync(): void {
    const items = this.items();
    items.forEach((item, index) => {
      const position = item.querySelector("[data-rank-position]");
      if (position) position.textContent = String(index + 1);
    });
    this.input.value = items.map((item) => item.dataset.id).join(",");
  }

  private announce(item: HTMLElement): void {
    const items = this.items();
    if (this.live) {
      this.live.textContent = format(strings.moved, {
        position: items.indexOf(item) + 1,
        count: items.length,
      });
    }
  }

  private dragStart(event: PointerEvent): void {
    const target = event.target as Element;
    if (event.button !== 0 || target.closest("button, a, input, textarea, select")) return;
    const item = target.closest<HTMLElement>(".rank-item");
    if (!item) return;
    // Touch scrolls the page unless the drag starts on the handle.
    if (event.pointerType !== "mouse" && !target.closest("[data-rank-handle]")) return;
    event.preventDefault();
    this.dragging = item;
    this.current = this.items().indexOf(item);
    item.classList.add("is-dragging");
    item.setPointerCapture(event.pointerId);
    item.focus({ preventScroll: true });
    this.mark();
  }

  private dragMove(event: PointerEvent): void {
    const item = this.dragging;
    if (!item) return;
    event.preventDefault();
    const previous = item.previousElementSibling as HTMLElement | null;
    const next = item.nextElementSibling as HTMLElement | null;
    if (previous) {
      const box = previous.getBoundingClientRect();
      if (event.clientY < box.top + box.height / 2) {
        previous.before(item);
        this.sync();
        return;
      }
    }
    if (next) {
      const box = next.getBoundingClientRect();
      if (event.clientY > box.top + box.height / 2) {
        next.after(item);
        this.sync();
      }
    }
  }

  private dragEnd(event: PointerEvent): void {
    const item = this.dragging;
    if (!item) return;
    this.dragging = null;
    item.classList.remove("is-dragging");
    if (item.hasPointerCapture(event.pointerId)) item.releasePointerCapture(event.pointerId);
    this.current = this.items().indexOf(item);
    this.sync();
    this.announce(item);
    this.mark();
  }
}

// --- Markdown preview (p, or the button): rendered and sanitised by the server -------------

async function togglePreview(task: Element): Promise<boolean> {
  const button = task.querySelector<HTMLButtonElement>("[data-preview-toggle]");
  const preview = task.querySelector<HTMLElement>("[data-preview]");
  const textarea = task.querySelector<HTMLTextAreaElement>("textarea[data-max-length]");
  if (!button || !preview || !textarea) return false;
  if (!preview.hidden) {
    preview.hidden = true;
    button.setAttribute("aria-expanded", "false");
    return true;
  }
  const token = textarea.form?.querySelector<HTMLInputElement>("input[name=csrfmiddlewaretoken]")?.value ?? "";
  const body = new URLSearchParams({ text: textarea.value });
  const response = await fetch(button.dataset.previewUrl ?? "", {
    method: "POST",
    body,
    headers: { "X-CSRFToken": token },
    credentials: "same-origin",
  });
  if (!response.ok) return true;
  // The server's markdown renderer sanitises (the same one as for published messages).
  preview.innerHTML = await response.text();
  preview.hidden = false;
  button.setAttribute("aria-expanded", "true");
  return true;
}

// --- Page state -------------------------------------------------------------------------

let labelRows: LabelRows | null = null;
let rankList: RankList | null = null;
let currentTask: Element | null = null;

function initTask(root: Element): void {
  const task = root.matches("[data-task]") ? root : root.querySelector("[data-task]");
  if (!task) return;
  labelRows = null;
  rankList = null;
  currentTask = task;
  const textarea = task.querySelector<HTMLTextAreaElement>("textarea[data-max-length]");
  if (textarea) initTextarea(textarea);
  const previewButton = task.querySelector<HTMLButtonElement>("[data-preview-toggle]");
  previewButton?.addEventListener("click", () => void togglePreview(task));
  const labels = new LabelRows(task);
  if (!labels.isEmpty) labelRows = labels;
  const list = task.querySelector<HTMLElement>("[data-rank-list]");
  const input = task.querySelector<HTMLInputElement>("[data-ranking-input]");
  if (list && input) rankList = new RankList(list, input, task.querySelector("[data-rank-live]"));
  // Put the keyboard where the work is (also after an htmx swap, where autofocus does nothing).
  const invalid = task.querySelector<HTMLElement>("[aria-invalid=true]");
  if (invalid instanceof HTMLTextAreaElement) invalid.focus();
  else if (labelRows) labelRows.focus();
  else if (rankList) rankList.focus();
  else task.querySelector<HTMLElement>("[data-autofocus]")?.focus();
  // This panel's keys work from now on (htmx swaps a new panel in without it).
  (task as HTMLElement).dataset.ready = "true";
}

function updateCountdowns(): void {
  document.querySelectorAll<HTMLElement>("[data-expires]").forEach((element) => {
    const left = Date.parse(element.dataset.expires ?? "") - Date.now();
    if (Number.isNaN(left)) return;
    const minutes = Math.max(0, Math.floor(left / 60000));
    element.textContent = left <= 0 ? strings.expired_short : format(strings.time_left, { minutes });
    element.classList.toggle("is-low", left < 5 * 60000);
  });
}

function showFormError(element: Element | null, message: string): void {
  const form = element?.closest("form");
  const box =
    form?.querySelector<HTMLElement>("[data-form-error]") ??
    document.querySelector<HTMLElement>("[data-task] [data-form-error]");
  if (box) {
    box.textContent = message;
    box.hidden = false;
  } else {
    toast(message);
  }
}

function init(root: Element): void {
  initTask(root);
  root.querySelectorAll<HTMLFormElement>("form[data-autosubmit]").forEach((form) => {
    form.querySelectorAll("select").forEach((select) =>
      select.addEventListener("change", () => form.requestSubmit()),
    );
  });
  if (root === document.body) {
    if (!root.querySelector("[data-task]")) document.querySelector<HTMLElement>("[data-autofocus]")?.focus();
    // For people who script the page (and the browser tests): everything is wired up.
    document.documentElement.dataset.arborReady = "true";
  }
  updateCountdowns();
}

// --- Hotkeys ----------------------------------------------------------------------------

function submitTarget(event: KeyboardEvent): HTMLFormElement | null {
  const dialog = openDialogOf();
  if (dialog) return dialog.querySelector<HTMLFormElement>("form:not([method=dialog])");
  return (
    document.querySelector<HTMLFormElement>("[data-task-form]") ??
    (event.target instanceof Element ? event.target.closest("form") : null)
  );
}

function navItems(delta: number): void {
  const items = Array.from(document.querySelectorAll<HTMLElement>("[data-nav-item]"));
  if (!items.length) return;
  const index = items.indexOf(document.activeElement as HTMLElement);
  const next = index < 0 ? 0 : Math.max(0, Math.min(items.length - 1, index + delta));
  items[next].focus();
}

function openReport(button: HTMLElement): void {
  const dialog = document.getElementById("report-dialog");
  const form = dialog?.querySelector<HTMLFormElement>("[data-report-form]");
  if (!dialog || !form) return;
  form.reset();
  form.dataset.url = button.dataset.reportUrl;
  const result = form.querySelector("[data-report-result]");
  if (result) result.innerHTML = "";
  openDialog("report-dialog");
}

function onKeydown(event: KeyboardEvent): void {
  if (currentTask && !currentTask.isConnected) {
    // A new panel was swapped in and is not wired up yet: the old widgets are gone.
    labelRows = null;
    rankList = null;
  }
  const typing = isTyping(event.target);
  const dialog = openDialogOf();
  if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
    const form = submitTarget(event);
    if (form) {
      event.preventDefault();
      form.requestSubmit();
    }
    return;
  }
  if (dialog) {
    const target = event.target as HTMLElement;
    if (event.key === "Enter" && target instanceof HTMLInputElement && target.type === "radio") {
      event.preventDefault();
      target.form?.requestSubmit();
    }
    return;
  }
  if (typing) {
    if (event.key === "Escape") (event.target as HTMLElement).blur();
    return;
  }
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const key = event.key;
  let handled = true;
  if (key === "?") openDialog("hotkeys-dialog");
  else if (key === "g") openDialog("guidelines-dialog");
  else if (key === "s" && document.getElementById("skip-dialog")) openDialog("skip-dialog");
  else if (key === "i") document.querySelector<HTMLElement>("[data-task] textarea")?.focus();
  else if (key === "p" && currentTask?.querySelector("[data-preview-toggle]")) {
    void togglePreview(currentTask);
  }
  else if (key === "d" && document.body.dataset.dashboardUrl) {
    window.location.assign(document.body.dataset.dashboardUrl);
  } else if (key === "r") {
    const button = document.querySelector<HTMLElement>("[data-task] [data-report-default]");
    if (button) openReport(button);
    else handled = false;
  } else if (rankList && (key === "J" || key === "K")) rankList.moveCurrent(key === "J" ? 1 : -1);
  else if (rankList && (key === "j" || key === "k" || key === "ArrowDown" || key === "ArrowUp")) {
    rankList.move(key === "j" || key === "ArrowDown" ? 1 : -1);
  } else if (labelRows && (key === "j" || key === "k")) labelRows.move(key === "j" ? 1 : -1);
  else if (labelRows && /^([1-5]|y|n|x)$/.test(key)) handled = labelRows.handleKey(key);
  else if (/^[a-z]$/.test(key) && currentTask?.querySelector(`[data-choice-key="${key}"]`)) {
    // A form of choices with their own keys (the arena: a, b, t, x) picks one.
    const choice = currentTask.querySelector<HTMLInputElement>(`[data-choice-key="${key}"]`);
    if (choice) {
      choice.checked = true;
      choice.focus();
      choice.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }
  else if (key === "j" || key === "k") navItems(key === "j" ? 1 : -1);
  else handled = false;
  if (handled) event.preventDefault();
}

// --- Live notifications -----------------------------------------------------------------

interface LiveEvent {
  type: string;
  payload: Record<string, number | boolean | string>;
}

function treeLink(payload: LiveEvent["payload"]): string | undefined {
  const template = document.body.dataset.treeUrl;
  if (!template || payload.tree_id === undefined) return undefined;
  return template.replace("/0/", `/${payload.tree_id}/`) + `#m${payload.message_id}`;
}

function onLiveEvent(event: LiveEvent): void {
  // Page scripts (the moderation queue) listen for events too.
  document.dispatchEvent(new CustomEvent("arbor:live", { detail: event }));
  const payload = event.payload;
  if (event.type === "message.reviewed") {
    toast(
      format(payload.accepted ? strings.accepted : strings.rejected, { message: Number(payload.message_id) }),
      treeLink(payload),
    );
  } else if (event.type === "message.ranked") {
    toast(
      format(strings.ranked, { message: Number(payload.message_id), rank: Number(payload.rank) + 1 }),
      treeLink(payload),
    );
  } else if (event.type === "assignment.expired" || event.type === "assignment.cancelled") {
    const expired = event.type === "assignment.expired";
    toast(format(expired ? strings.expired : strings.cancelled, { assignment: Number(payload.assignment_id) }));
    const task = document.querySelector<HTMLElement>(`[data-task][data-assignment="${payload.assignment_id}"]`);
    task?.querySelectorAll<HTMLElement>("[data-expires]").forEach((element) => {
      element.dataset.expires = new Date(0).toISOString();
    });
    updateCountdowns();
  }
}

function connectLive(): void {
  const path = document.body.dataset.wsPath;
  if (!path || !("WebSocket" in window)) return;
  const status = document.querySelector<HTMLElement>("[data-live-status]");
  let delay = 1000;
  const setLive = (live: boolean): void => {
    if (!status) return;
    status.hidden = false;
    status.classList.toggle("is-live", live);
    status.title = live ? strings.connected : strings.disconnected;
    status.setAttribute("aria-label", status.title);
  };
  const open = (): void => {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + path);
    socket.addEventListener("open", () => {
      delay = 1000;
      setLive(true);
    });
    socket.addEventListener("message", (message) => {
      try {
        onLiveEvent(JSON.parse(String(message.data)) as LiveEvent);
      } catch {
        /* a malformed event is ignored */
      }
    });
    socket.addEventListener("close", () => {
      setLive(false);
      window.setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    });
  };
  open();
}

// --- Start ------------------------------------------------------------------------------

function start(): void {
  const source = document.getElementById("arbor-strings");
  strings = source ? (JSON.parse(source.textContent ?? "{}") as Strings) : {};
  const htmx = window.htmx;
  if (htmx) {
    // Refused input (422), conflicts (409) and rate limits (429) come back as the task
    // panel with the message next to the field: swap them in. Other errors keep the
    // page (and everything typed) as it is and say what happened.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "(409|422|429)", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
    ];
    htmx.config.historyCacheSize = 0;
    htmx.config.refreshOnHistoryMiss = true;
    htmx.onLoad((element) => init(element));
  } else {
    init(document.body);
  }
  document.addEventListener("keydown", onKeydown);
  initQualityCheck();
  document.addEventListener("click", (event) => {
    const target = event.target as Element;
    const opener = target.closest<HTMLElement>("[data-dialog-open]");
    if (opener?.dataset.dialogOpen) openDialog(opener.dataset.dialogOpen);
    const closer = target.closest("[data-dialog-close]");
    if (closer) closer.closest("dialog")?.close();
    const report = target.closest<HTMLElement>(".report-button");
    if (report) openReport(report);
  });
  document.addEventListener("submit", (event) => {
    const form = event.target as HTMLFormElement;
    if (!form.matches("[data-report-form]") || !form.dataset.url || !htmx) return;
    event.preventDefault();
    void htmx.ajax("POST", form.dataset.url, {
      source: form,
      target: form.querySelector("[data-report-result]"),
      swap: "innerHTML",
    });
  });
  document.body.addEventListener("htmx:responseError", (event) => {
    const detail = (event as CustomEvent).detail as { elt: Element; xhr: XMLHttpRequest };
    showFormError(detail.elt, format(strings.server_error, { status: detail.xhr.status }));
  });
  document.body.addEventListener("htmx:sendError", (event) => {
    const detail = (event as CustomEvent).detail as { elt: Element };
    showFormError(detail.elt, strings.network_error);
  });
  document.body.addEventListener("htmx:afterRequest", (event) => {
    const detail = (event as CustomEvent).detail as { elt: Element; successful: boolean };
    const textarea = detail.elt.querySelector?.("textarea[data-draft-key]") as HTMLTextAreaElement | null;
    // The draft is only dropped once the server took the text.
    if (detail.successful && textarea?.dataset.draftKey) {
      window.sessionStorage.removeItem(textarea.dataset.draftKey);
    }
  });
  window.setInterval(updateCountdowns, 15000);
  connectLive();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
