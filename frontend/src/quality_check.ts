/*
 * The task page's warning before a prompt or reply is sent: the text is checked by
 * POST /api/v1/quality/check (PII and language, nothing stored). When it holds personal
 * data or is in another language than the task's, the first press of Submit shows why
 * and the button turns into "Submit anyway"; a second press sends the text as it is.
 * Changing the text checks it again. If the check cannot be made (network, rate limit)
 * the text is sent: the warning helps, it never blocks.
 *
 * The page provides the words (translated on the server) as data attributes of the
 * [data-quality-warning] element in the reply box's template.
 */

interface CheckResult {
  pii: { type: string; start: number; end: number }[];
  lang: { detected: string | null; confidence: number | null; mismatch: boolean | null };
}

// The text that was checked and warned about, per form: a second press sends it.
const acknowledged = new WeakMap<HTMLFormElement, string>();
const pending = new WeakSet<HTMLFormElement>();

function warningBox(form: HTMLFormElement): HTMLElement | null {
  return form.querySelector<HTMLElement>("[data-quality-warning]");
}

async function check(box: HTMLElement, form: HTMLFormElement, text: string): Promise<CheckResult | null> {
  const csrf = form.querySelector<HTMLInputElement>("input[name=csrfmiddlewaretoken]")?.value ?? "";
  try {
    const response = await fetch(box.dataset.checkUrl ?? "/api/v1/quality/check", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ text, lang: box.dataset.lang ?? "" }),
    });
    if (!response.ok) return null;
    return (await response.json()) as CheckResult;
  } catch {
    return null;
  }
}

// "credit_card" → "piiCreditCard", the dataset name of data-pii-credit-card.
function datasetKey(type: string): string {
  return "pii" + type.split("_").map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join("");
}

function messages(box: HTMLElement, result: CheckResult): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const span of result.pii) {
    if (seen.has(span.type)) continue;
    seen.add(span.type);
    lines.push(box.dataset[datasetKey(span.type)] ?? box.dataset.piiOther ?? "");
  }
  if (result.lang.mismatch && result.lang.detected) {
    lines.push((box.dataset.langMismatch ?? "").replace("{detected}", result.lang.detected));
  }
  return lines.filter(Boolean);
}

function show(box: HTMLElement, form: HTMLFormElement, lines: string[]): void {
  const list = box.querySelector<HTMLElement>("[data-quality-lines]");
  if (list) {
    list.replaceChildren(
      ...lines.map((line) => {
        const item = document.createElement("li");
        item.textContent = line;
        return item;
      }),
    );
  }
  box.hidden = false;
  const submit = form.querySelector<HTMLButtonElement>("button[type=submit]");
  if (submit && box.dataset.submitAnyway) {
    submit.dataset.qualityLabel ??= submit.innerHTML;
    submit.textContent = box.dataset.submitAnyway;
  }
}

function reset(box: HTMLElement, form: HTMLFormElement): void {
  box.hidden = true;
  const submit = form.querySelector<HTMLButtonElement>("button[type=submit]");
  if (submit?.dataset.qualityLabel) {
    submit.innerHTML = submit.dataset.qualityLabel;
    delete submit.dataset.qualityLabel;
  }
}

async function beforeSubmit(form: HTMLFormElement, box: HTMLElement, text: string): Promise<void> {
  pending.add(form);
  try {
    const result = await check(box, form, text);
    const lines = result ? messages(box, result) : [];
    acknowledged.set(form, text);
    if (lines.length) {
      show(box, form, lines);
      return;
    }
    reset(box, form);
  } finally {
    pending.delete(form);
  }
  form.requestSubmit();
}

function onSubmit(event: Event): void {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.matches("[data-task-form]")) return;
  const box = warningBox(form);
  const textarea = form.querySelector<HTMLTextAreaElement>("textarea[name=text]");
  if (!box || !textarea) return;
  const text = textarea.value;
  if (acknowledged.get(form) === text && !pending.has(form)) return; // checked: send it
  // Not checked yet (or changed since): hold the submission until the check answers.
  event.preventDefault();
  event.stopImmediatePropagation();
  if (!pending.has(form)) void beforeSubmit(form, box, text);
}

function onInput(event: Event): void {
  const textarea = event.target;
  if (!(textarea instanceof HTMLTextAreaElement) || textarea.name !== "text") return;
  const form = textarea.form;
  const box = form ? warningBox(form) : null;
  if (form && box && acknowledged.get(form) !== textarea.value) reset(box, form);
}

/** Install the check once; it covers every task form the page (or htmx) shows later. */
export function initQualityCheck(): void {
  // Capture phase on the document: before htmx's own submit handler on the form.
  document.addEventListener("submit", onSubmit, true);
  document.addEventListener("input", onInput);
}
