// Builds the web UI's static files into build/arbor/ (served by Django from STATICFILES_DIRS):
// our TypeScript bundled and minified by esbuild, our CSS minified, htmx copied from the
// npm package pinned in package-lock.json. Nothing is fetched at run time.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "build", "arbor");
mkdirSync(out, { recursive: true });

for (const name of ["app", "moderation", "exports", "stats"]) {
  await build({
    entryPoints: [join(here, "src", `${name}.ts`)],
    outfile: join(out, `${name}.js`),
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    legalComments: "none",
    logLevel: "warning",
  });
}
for (const name of ["app", "exports", "stats"]) {
  await build({
    entryPoints: [join(here, "src", `${name}.css`)],
    outfile: join(out, `${name}.css`),
    bundle: true,
    minify: true,
    logLevel: "warning",
  });
}
copyFileSync(join(here, "node_modules", "htmx.org", "dist", "htmx.min.js"), join(out, "htmx.min.js"));

const sizes = {};
for (const name of ["app.js", "moderation.js", "exports.js", "app.css", "exports.css", "stats.js", "stats.css", "htmx.min.js"]) {
  const bytes = readFileSync(join(out, name));
  sizes[name] = { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}
writeFileSync(join(here, "build", "sizes.json"), JSON.stringify(sizes, null, 2) + "\n");
for (const [name, size] of Object.entries(sizes)) {
  console.log(`frontend: ${name.padEnd(12)} ${String(size.bytes).padStart(7)} B, ${String(size.gzip).padStart(6)} B gzipped`);
}
