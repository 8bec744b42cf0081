"""The ``hf-dataset`` export: a zip of Parquet splits and a dataset card, loaded back with
Hugging Face's ``datasets`` library, offline.

Every config is loaded from the unzipped export through the card's own ``configs``
(split → glob) and compared with the JSONL formats exported with the same secret: the
same rows and the same columns. Splits are by tree and do not depend on the secret.
"""

from __future__ import annotations

import glob
import os
import zipfile
from io import StringIO
from pathlib import Path
from typing import Any

# Nothing may be fetched: ``datasets`` reads these when it is imported.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import datasets
import pyarrow.parquet as pq
import pytest
import yaml
from django.core.management import call_command

from backend.consensus.services import project_rescore
from backend.exports.formats.hf_card import size_category
from backend.exports.formats.hf_dataset import CONFIGS
from backend.exports.models import ExportJob, JobState
from backend.exports.options import export_options_build
from backend.exports.services import ExportResult, export_write, import_file
from tests.exports.conftest import SHARED_OASST

pytestmark = pytest.mark.django_db

SAMPLE = SHARED_OASST / "en_100_tree.jsonl"
needs_sample = pytest.mark.skipif(
    not SAMPLE.is_file(),
    reason=f"needs Open-Assistant's sample data at {SAMPLE} (../shared beside the checkout; "
    "CI has it)",
)
SECRET = "a-fixed-test-secret"


def export_zip(
    project: Any, directory: Path, *, secret: str, **filters: Any
) -> tuple[ExportResult, Path]:
    options = export_options_build(project=project, format="hf-dataset", filters=filters)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"export{options.extension}"
    return export_write(options=options, destination=path, secret=secret), path


def unzip(path: Path, into: Path) -> Path:
    with zipfile.ZipFile(path) as archive:
        archive.extractall(into)
    return into


def card_of(root: Path) -> tuple[dict[str, Any], str]:
    text = (root / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    front, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(front), body


def load_config(root: Path, card: dict[str, Any], config: str, cache: Path) -> Any:
    """``load_dataset("parquet", data_files=…)`` with the card's globs for ``config``."""
    (entry,) = [item for item in card["configs"] if item["config_name"] == config]
    data_files = {}
    for item in entry["data_files"]:
        files = sorted(glob.glob(str(root / item["path"])))
        assert files, f"{item['path']} matches no file"
        data_files[item["split"]] = files
    return datasets.load_dataset("parquet", data_files=data_files, cache_dir=str(cache))


def rows_of(dataset: Any) -> list[dict[str, Any]]:
    return [row for split in dataset for row in dataset[split]]


def by_json(rows: list[dict[str, Any]]) -> list[str]:
    import json

    return sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)


@needs_sample
def test_every_config_of_the_sample_loads_with_datasets(make_project, run_export, tmp_path):
    project = make_project(slug="oasst")
    project.name = "Open Assistant sample"
    project.guidelines = "Be helpful.\nBe kind: no insults."
    project.save()
    report = import_file(
        path=str(SAMPLE),
        project_slug="oasst",
        format="oasst-trees",
        target_state="ready_for_export",
    )
    assert report.trees_created == 100

    result, path = export_zip(project, tmp_path / "1", secret=SECRET, validation_fraction=0.2)
    assert path.suffix == ".zip"
    root = unzip(path, tmp_path / "hf")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert names[0] == "README.md"
    assert sorted(names[1:]) == sorted(
        f"data/{config}/{split}-00000-of-00001.parquet"
        for config in CONFIGS
        for split in ("train", "validation")
    )

    # The same filters and secret in the other formats: the rows to expect.
    messages, _, _ = run_export(project, "oasst-messages", secret=SECRET)
    trees, _, _ = run_export(project, "oasst-trees", secret=SECRET)
    pairs, _, _ = run_export(project, "preferences", secret=SECRET)
    sft, _, _ = run_export(project, "sft", secret=SECRET)
    _, _, parquet_path = run_export(project, "parquet", secret=SECRET)
    assert (result.row_count, result.message_count, result.tree_count) == (
        len(messages),
        len(messages),
        len(trees),
    )
    assert len(pairs) > 0 and len(sft) > 0

    card, body = card_of(root)
    assert [item["config_name"] for item in card["configs"]] == list(CONFIGS)
    cache = tmp_path / "cache"
    loaded = {config: load_config(root, card, config, cache) for config in CONFIGS}
    for config, dataset in loaded.items():
        assert set(dataset) == {"train", "validation"}, config

    # Columns: the parquet format's for messages, the JSONL keys for the others.
    assert loaded["messages"]["train"].column_names == pq.read_schema(parquet_path).names
    assert set(loaded["preferences"]["train"].column_names) == set(pairs[0])
    assert loaded["sft"]["train"].column_names == list(sft[0])
    assert loaded["trees"]["train"].column_names == [
        "message_tree_id",
        "tree_state",
        "lang",
        "message_count",
        "prompt",
    ]

    # Rows: the same as the JSONL formats', every one of them.
    assert len(rows_of(loaded["messages"])) == len(messages)
    assert sorted(row["message_id"] for row in rows_of(loaded["messages"])) == sorted(
        line["message_id"] for line in messages
    )
    assert by_json(rows_of(loaded["preferences"])) == by_json(pairs)
    assert by_json(rows_of(loaded["sft"])) == by_json(sft)
    tree_rows = rows_of(loaded["trees"])
    import json

    assert sorted(
        (row["message_tree_id"], json.loads(row["prompt"])["message_id"]) for row in tree_rows
    ) == sorted((line["message_tree_id"], line["prompt"]["message_id"]) for line in trees)
    assert sum(row["message_count"] for row in tree_rows) == len(messages)

    # Splits by tree: each tree's rows are all in one split, in every config.
    validation_trees = {row["message_tree_id"] for row in loaded["trees"]["validation"]}
    train_trees = {row["message_tree_id"] for row in loaded["trees"]["train"]}
    assert validation_trees and train_trees and not validation_trees & train_trees
    for config in ("messages", "preferences", "sft"):
        assert {r["message_tree_id"] for r in loaded[config]["validation"]} <= validation_trees
        assert {r["message_tree_id"] for r in loaded[config]["train"]} <= train_trees

    # The card: front matter and counts.
    assert card["license"] == "apache-2.0"
    assert card["language"] == ["en"]
    assert card["size_categories"] == [size_category(len(messages))] == ["1K<n<10K"]
    assert card["task_categories"] == [
        "text-generation",
        "text-classification",
        "reinforcement-learning",
    ]
    assert card["pretty_name"] == "Open Assistant sample (Arbor)"
    for item in card["configs"]:
        for files in item["data_files"]:
            assert glob.glob(str(root / files["path"])), files
    assert "> Be helpful.\n> Be kind: no insults." in body
    counts = {config: {s: loaded[config][s].num_rows for s in loaded[config]} for config in CONFIGS}
    assert (
        f"| preference pairs | {counts['preferences']['train']} | "
        f"{counts['preferences']['validation']} |"
    ) in body
    assert f"| SFT conversations | {counts['sft']['train']} | {counts['sft']['validation']} |" in (
        body
    )
    assert f"| trees | {len(train_trees)} | {len(validation_trees)} |" in body
    assert "| `validation_fraction` | 0.2 |" in body
    assert "| `states` | ready_for_export |" in body
    assert "| `include_synthetic` | no |" in body
    assert "docs/consensus.md" in body

    # Another secret: other ids, the same split of the same trees.
    _, again = export_zip(project, tmp_path / "2", secret="another", validation_fraction=0.2)
    other = unzip(again, tmp_path / "hf-again")
    for config in CONFIGS:
        for split in ("train", "validation"):
            name = f"data/{config}/{split}-00000-of-00001.parquet"
            assert pq.read_metadata(other / name).num_rows == counts[config][split]
    # The same secret: the same bytes.
    same, _ = export_zip(project, tmp_path / "3", secret=SECRET, validation_fraction=0.2)
    assert same.sha256 == result.sha256


def test_small_world_through_the_api_with_consensus_and_one_split(
    world, make_user, client_for, tmp_path, django_capture_on_commit_callbacks
):
    world.project.guidelines = "Answer | briefly."
    world.project.save()
    project_rescore(project_id=world.project.pk)
    client = client_for(make_user("researcher"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/exports/",
            {"project": "lab", "format": "hf-dataset", "license": "cc-by-4.0"},
            format="json",
        )
    assert response.status_code == 202, response.json()
    job = ExportJob.objects.get(pk=response.json()["id"])
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.filters["validation_fraction"] == 0.0
    assert job.filters["license"] == "cc-by-4.0"
    assert (job.row_count, job.message_count, job.tree_count) == (6, 6, 1)
    assert job.file.name.endswith(".zip")
    download = client.get(f"/api/v1/exports/{job.pk}/download")
    assert download.status_code == 200
    path = tmp_path / "world.zip"
    path.write_bytes(b"".join(download.streaming_content))
    root = unzip(path, tmp_path / "world")
    card, body = card_of(root)
    assert card["license"] == "cc-by-4.0"
    assert card["size_categories"] == ["n<1K"]
    for item in card["configs"]:
        assert [files["split"] for files in item["data_files"]] == ["train"]
    assert sorted(p.name for p in (root / "data" / "messages").iterdir()) == [
        "train-00000-of-00001.parquet"
    ]
    cache = tmp_path / "cache"
    loaded = {config: load_config(root, card, config, cache) for config in CONFIGS}
    assert {c: loaded[c]["train"].num_rows for c in CONFIGS} == {
        "trees": 1,
        "messages": 6,
        "preferences": 3,
        "sft": 1,
    }
    pairs = sorted(loaded["preferences"]["train"], key=lambda row: (row["chosen"], row["rejected"]))
    assert [(p["chosen"], p["rejected"], p["margin"]) for p in pairs] == [
        ("4", "22", 2),
        ("4", "5", 1),
        ("5", "22", 1),
    ]
    # erin and frank both put "4" first and disagree on "5" and "22": equal scores there.
    assert [p["chosen_score"] > p["rejected_score"] for p in pairs] == [True, True, False]
    assert pairs[2]["chosen_score"] == pytest.approx(pairs[2]["rejected_score"])
    assert all(p["confidence"] is not None for p in pairs)
    assert pairs[0]["prompt"] == [{"role": "user", "content": "What is 2+2?"}]
    (conversation,) = loaded["sft"]["train"]
    assert [turn["content"] for turn in conversation["messages"]] == [
        "What is 2+2?",
        "4",
        "Why?",
        "Because.",
    ]
    # The folder as a dataset repository: ``datasets`` finds the configs in the card.
    by_name = datasets.load_dataset(str(root), "preferences", cache_dir=str(cache))
    assert by_name["train"].num_rows == 3
    assert datasets.load_dataset(str(root), cache_dir=str(cache))["train"].num_rows == 6
    ranked = {row["text"]: row for row in loaded["messages"]["train"]}
    assert ranked["4"]["consensus_rank"] == 0 and ranked["22"]["consensus_rank"] == 2
    # Every filter the job has is on the card (a "|" in text cannot break the table).
    for name in job.filters:
        assert f"| `{name}` |" in body
    assert "> Answer | briefly." in body
    assert "There is one split, `train`" in body


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"format": "hf-dataset", "validation_fraction": 1}, "validation_fraction", "out_of_range"),
        (
            {"format": "hf-dataset", "validation_fraction": -0.1},
            "validation_fraction",
            "out_of_range",
        ),
        ({"format": "hf-dataset", "license": "Apache 2"}, "license", "invalid_license"),
        (
            {"format": "hf-dataset", "validation_fraction": "NaN"},
            "validation_fraction",
            "invalid",
        ),
        ({"format": "hf-dataset", "gzip": True}, "gzip", "gzip_not_for_zip"),
        ({"format": "sft", "validation_fraction": 0.1}, "validation_fraction", "not_for_format"),
        ({"format": "parquet", "license": "mit"}, "license", "not_for_format"),
    ],
)
def test_bad_hf_options_are_400_with_a_code(world, make_user, client_for, body, field, code):
    client = client_for(make_user("researcher"))
    response = client.post("/api/v1/exports/", {"project": "lab", **body}, format="json")
    assert response.status_code == 400
    data = response.json()
    assert data["code"] == code
    assert field in data["fields"], data
    assert ExportJob.objects.count() == 0


def test_other_formats_keep_their_filters(world, make_user):
    from backend.exports.services import export_job_create

    job = export_job_create(
        user=make_user("researcher"), project_slug="lab", format="sft", filters={}
    )
    assert "validation_fraction" not in job.filters and "license" not in job.filters


def test_the_command_writes_the_zip(world, tmp_path):
    output = tmp_path / "lab.zip"
    out = StringIO()
    call_command(
        "export",
        "--project",
        "lab",
        "--format",
        "hf-dataset",
        "--output",
        str(output),
        "--validation-fraction",
        "0.5",
        "--license",
        "mit",
        "--no-progress",
        stdout=out,
        stderr=StringIO(),
    )
    assert "6 rows (6 messages, 1 trees)" in out.getvalue()
    root = unzip(output, tmp_path / "cli")
    card, body = card_of(root)
    assert card["license"] == "mit"
    # One tree: it is in one split; the other split has no rows, so no file and no entry
    # (``datasets`` refuses a split whose files hold no row).
    (split,) = [files["split"] for files in card["configs"][0]["data_files"]]
    files = sorted(str(p.relative_to(root)) for p in (root / "data").rglob("*.parquet"))
    assert files == sorted(f"data/{config}/{split}-00000-of-00001.parquet" for config in CONFIGS)
    loaded = load_config(root, card, "messages", tmp_path / "cache")
    assert {name: loaded[name].num_rows for name in loaded} == {split: 6}
    assert "| `validation_fraction` | 0.5 |" in body


def test_a_config_without_rows_is_left_out(make_project, tmp_path):
    from tests.exports.builders import make_message, make_tree

    project = make_project(slug="bare")
    tree = make_tree(project)
    prompt = make_message(tree, None, "Hello?")
    make_message(tree, prompt, "Hi.")
    _, path = export_zip(project, tmp_path / "bare", secret=SECRET)
    root = unzip(path, tmp_path / "bare-files")
    card, body = card_of(root)
    # Nothing was ranked: no preference pairs, so no preferences file or config.
    assert [item["config_name"] for item in card["configs"]] == ["trees", "messages", "sft"]
    assert card["task_categories"] == ["text-generation"]
    assert not (root / "data" / "preferences").exists()
    assert "| preference pairs | 0 |" in body
    for item in card["configs"]:
        loaded = load_config(root, card, item["config_name"], tmp_path / "cache")
        assert (
            loaded["train"].num_rows == {"trees": 1, "messages": 2, "sft": 1}[item["config_name"]]
        )


def test_the_page_offers_the_format(world, make_user, client):
    client.force_login(make_user("researcher"))
    response = client.get("/exports/")
    option = '<option value="hf-dataset">Hugging Face dataset (zip)</option>'
    assert option in response.content.decode()
