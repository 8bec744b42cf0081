"""Import benchmark: the real Open-Assistant sample imported into a fresh project, then
again under the same ids, then as an anonymised, PII-masked export of itself (every
tree found by content). Prints the wall time of each pass.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/arbor_bench \\
        python bench/import_dedupe_bench.py [--copies 5]

``--copies N`` imports N renamed copies first (other ids and texts), so the project
holds more trees than the file. Needs a migrated database; creates project
``import-bench-<n>`` and leaves it there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / ".." / "shared" / "data" / "oasst" / "en_100_tree.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=5)
    arguments = parser.parse_args()
    if not SAMPLE.exists():
        sys.exit(f"{SAMPLE.name} (the Open-Assistant sample) is missing")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    import django

    django.setup()
    from backend.exports.options import export_options_build
    from backend.exports.services import export_write, import_file
    from backend.projects.models import Project
    from backend.projects.services import project_create

    slug = f"import-bench-{Project.objects.count() + 1}"
    project = project_create(slug=slug, settings={})
    with tempfile.TemporaryDirectory() as directory:
        lines = SAMPLE.read_text().splitlines()
        for copy in range(arguments.copies):
            path = Path(directory) / f"copy-{copy}.jsonl"
            path.write_text(
                "\n".join(
                    json.dumps(
                        json.loads(line.replace('"text": "', f'"text": "copy {copy}: '))
                    ).replace("-", f"-c{copy}", 1)
                    for line in lines
                )
                + "\n"
            )
            import_file(path=str(path), project_slug=slug, format="oasst-trees")

        def timed(label: str, path: Path) -> None:
            started = time.perf_counter()
            report = import_file(path=str(path), project_slug=slug, format="oasst-trees")
            seconds = time.perf_counter() - started
            print(
                f"{label:<34} {seconds:6.2f} s  created {report.trees_created:4d}"
                f"  already here {report.trees_duplicate:4d}  bad {report.error_count}"
            )

        timed("first import", SAMPLE)
        timed("same file again (origin ids)", SAMPLE)
        options = export_options_build(
            project=project,
            format="oasst-trees",
            filters={"states": "all", "include_deleted": True},
        )
        exported = Path(directory) / "export.jsonl"
        export_write(options=options, destination=exported, secret=None)
        timed("own export (anonymised, masked)", exported)


if __name__ == "__main__":
    main()
