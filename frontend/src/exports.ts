// The exports page: starts an export and follows its progress, uploads an import and
// follows its job. Served as a file (no inline script: the Content-Security-Policy
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

function byId<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

function isChecked(form: HTMLFormElement, name: string): boolean {
  const input = form.elements.namedItem(name);
  return input instanceof HTMLInputElement && input.checked;
}

function start(): void {
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
    barText.textContent = `${job.state} · ${job.progress}% · ${job.row_count} rows`;
    if (job.state === "succeeded") {
      status.textContent = "";
      const link = document.createElement("a");
      link.href = job.download_url;
      link.textContent = `Download ${job.file_name}`;
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
    status.textContent = "Starting…";
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
    status.textContent = `Export #${job.id}`;
    box.hidden = false;
    void poll(job.id);
  });

  const importForm = document.getElementById("import-form") as HTMLFormElement | null;
  if (!importForm) return;
  const importStatus = byId<HTMLSpanElement>("import-status");

  async function pollImport(id: number): Promise<void> {
    const response = await fetch(`/api/v1/imports/${id}`, { credentials: "same-origin" });
    const job = (await response.json()) as ImportJob;
    const errors = job.errors.length
      ? " — " + job.errors.slice(0, 5).map((error) => `line ${error.line}: ${error.reason}`).join("; ")
      : "";
    importStatus.textContent =
      `${job.state}: ${job.trees_created} trees, ${job.trees_duplicate} duplicates, ` +
      `${job.error_count} bad lines${errors}`;
    if (job.state === "queued" || job.state === "running") setTimeout(() => void pollImport(id), 1000);
  }

  importForm.addEventListener("submit", async (event) => {
    event.preventDefault();
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

start();
