// The export and import pages: start an export and follow its progress, upload an import
// and follow its job (polling the job API). The words come translated from the page's
// JSON block #exports-texts. Served as a file (no inline script: the Content-Security-Policy
// allows scripts from Arbor's own static files only).

interface ExportJob {
  id: number;
  state: string;
  progress: number;
  row_count: number;
  download_url: string;
  file_name: string;
  error: string;
  detail?: string;
  fields?: unknown;
}

interface ImportJob {
  id: number;
  state: string;
  progress: number;
  error: string;
  trees_created: number;
  trees_duplicate: number;
  error_count: number;
  errors: { line: number; reason: string }[];
  detail?: string;
}

const CHECKBOXES = [
  "gzip",
  "include_deleted",
  "include_rejected",
  "include_synthetic",
  "with_labels",
  "with_events",
  "with_consensus",
  "with_quality",
  "anonymize",
  "exclude_near_duplicates",
  "exclude_lang_mismatch",
];

interface Texts {
  states: Record<string, string>;
  starting: string;
  rows: string;
  download: string;
  trees: string;
  skipped: string;
  bad: string;
  line: string;
}

function texts(): Texts {
  const block = document.getElementById("exports-texts");
  return JSON.parse(block?.textContent ?? "{}") as Texts;
}

function byId<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

function isChecked(form: HTMLFormElement, name: string): boolean {
  const input = form.elements.namedItem(name);
  return input instanceof HTMLInputElement && input.checked;
}

function startExports(words: Texts): void {
  const form = document.getElementById("export-form") as HTMLFormElement | null;
  if (!form) return;
  const csrf = form.dataset.csrfToken ?? "";
  const status = byId<HTMLSpanElement>("status");
  const bar = byId<HTMLProgressElement>("progress");
  const barText = byId<HTMLSpanElement>("progress-text");
  const box = byId<HTMLDivElement>("progress-box");

  function filters(): Record<string, unknown> {
    const data = new FormData(form!);
    const body: Record<string, unknown> = { project: data.get("project"), format: data.get("format") };
    const states = data.getAll("states");
    body.states = states.includes("all") ? "all" : states;
    const languages = String(data.get("languages") ?? "")
      .split(",")
      .map((code) => code.trim())
      .filter(Boolean);
    if (languages.length) body.languages = languages;
    for (const name of ["created_from", "created_to"]) {
      if (data.get(name)) body[name] = `${data.get(name)}T00:00:00Z`;
    }
    for (const name of CHECKBOXES) body[name] = isChecked(form!, name);
    body.pii = data.get("pii");
    const leaked = String(data.get("exclude_leaked") ?? "").trim();
    if (leaked) body.exclude_leaked = leaked;
    const toxicity = String(data.get("max_toxicity") ?? "").trim();
    if (toxicity) body.max_toxicity = Number(toxicity);
    if (data.get("secret")) body.secret = data.get("secret");
    return body;
  }

  async function poll(id: number): Promise<void> {
    const response = await fetch(`/api/v1/exports/${id}`, { credentials: "same-origin" });
    const job = (await response.json()) as ExportJob;
    bar.value = job.progress;
    barText.textContent = `${words.states[job.state] ?? job.state} · ${job.progress}% · ${job.row_count} ${words.rows}`;
    if (job.state === "succeeded") {
      status.textContent = "";
      const link = document.createElement("a");
      link.href = job.download_url;
      link.textContent = `${words.download} ${job.file_name}`;
      status.appendChild(link);
      return;
    }
    if (job.state === "failed") {
      status.textContent = job.error;
      status.className = "error";
      return;
    }
    setTimeout(() => void poll(id), 1000);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.className = "";
    status.textContent = words.starting;
    const response = await fetch("/api/v1/exports/", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(filters()),
    });
    const job = (await response.json()) as ExportJob;
    if (response.status !== 202) {
      status.className = "error";
      status.textContent = (job.detail ?? "") + (job.fields ? ` ${JSON.stringify(job.fields)}` : "");
      return;
    }
    status.textContent = `#${job.id}`;
    box.hidden = false;
    void poll(job.id);
  });
}

function importSummary(job: ImportJob, words: Texts): string {
  const parts = [
    `#${job.id} ${words.states[job.state] ?? job.state}` +
      (job.state === "running" ? ` ${job.progress}%` : ""),
    `${job.trees_created} ${words.trees}`,
  ];
  if (job.trees_duplicate) parts.push(`${job.trees_duplicate} ${words.skipped}`);
  if (job.error_count) {
    const shown = job.errors.slice(0, 5).map((error) => `${words.line} ${error.line}: ${error.reason}`);
    parts.push(`${job.error_count} ${words.bad}` + (shown.length ? ` (${shown.join("; ")})` : ""));
  }
  if (job.state === "failed" && job.error) parts.push(job.error);
  return parts.join(" · ");
}

function startImports(words: Texts): void {
  const importForm = document.getElementById("import-form") as HTMLFormElement | null;
  if (!importForm) return;
  const csrf = importForm.dataset.csrfToken ?? "";
  const importStatus = byId<HTMLParagraphElement>("import-status");

  async function pollImport(id: number): Promise<void> {
    const response = await fetch(`/api/v1/imports/${id}`, { credentials: "same-origin" });
    const job = (await response.json()) as ImportJob;
    importStatus.textContent = importSummary(job, words);
    importStatus.className = job.state === "failed" ? "error" : "";
    if (job.state === "queued" || job.state === "running") setTimeout(() => void pollImport(id), 1000);
  }

  importForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    importStatus.className = "";
    importStatus.textContent = words.starting;
    const data = new FormData(importForm);
    data.set("strict", isChecked(importForm, "strict") ? "true" : "false");
    const response = await fetch("/api/v1/imports/", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf },
      body: data,
    });
    const job = (await response.json()) as ImportJob;
    if (response.status !== 202) {
      importStatus.className = "error";
      importStatus.textContent = job.detail ?? "";
      return;
    }
    void pollImport(job.id);
  });
}

const WORDS = texts();
startExports(WORDS);
startImports(WORDS);
