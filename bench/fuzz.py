"""API fuzzing, large profile: schemathesis over the whole OpenAPI schema, every role.

    python bench/fuzz.py                      # ≥ 20,000 cases: every phase, every role
    python bench/fuzz.py --max-examples 20    # quicker
    python bench/fuzz.py --role admin         # one role (run roles side by side)

The same harness and checks as ``tests/api/test_fuzz.py`` (``tests/api/fuzzing.py``),
with every phase (examples, coverage, fuzzing) as each of the four roles and many
more generated cases per operation. It makes a throw-away test database (Django's test
database of whatever ``DATABASE_URL`` names, SQLite by default), seeds it with a small
project and trees, serves the application on a loopback port with Django's live-server
thread and sends every request there. It prints the cases per operation, the failures
by check (with each failing request as a curl command) and the duration, and exits 1
when any check failed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=100, help="per operation and role")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--role", action="append", help="only these roles (default: all)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.db import connection
    from django.test.testcases import LiveServerThread
    from django.test.utils import setup_test_environment, teardown_test_environment

    from tests.api.fuzzing import (
        ROLES,
        SEED,
        FuzzReport,
        fuzz,
        published_schema_document,
        seed_fuzz_world,
        with_examples,
    )

    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True
    try:
        world = seed_fuzz_world()
        document = with_examples(published_schema_document(), world)
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        base_url = f"http://127.0.0.1:{server.port}"
        total = FuzzReport()
        for role in args.role or ROLES:
            report = fuzz(
                document,
                base_url=base_url,
                role=role,
                token=world.tokens[role],
                max_examples=args.max_examples,
                seed=args.seed if args.seed is not None else SEED,
            )
            print(
                f"{role}: {report.total_cases} cases, {dict(report.failures) or 'no failures'}, "
                f"{report.seconds:.1f} s",
                flush=True,
            )
            total.merge(report)
        print()
        print(total.summary())
        for line in total.failure_details + total.errors:
            print(line)
        return 1 if total.failure_details or total.errors else 0
    finally:
        server.terminate()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    sys.exit(main())
