#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

# Commands whose contract (see docs) has a ``--settings JSON`` option of their own.
# Django reads ``--settings`` as the settings module before any command runs, so for
# these commands it is passed on under the command's own name instead.
OWN_SETTINGS_OPTION = {"create_project": "--tree-settings"}


def translate_argv(argv: list[str]) -> list[str]:
    if len(argv) < 2 or argv[1] not in OWN_SETTINGS_OPTION:
        return argv
    own = OWN_SETTINGS_OPTION[argv[1]]
    translated = []
    for argument in argv:
        if argument == "--settings":
            argument = own
        elif argument.startswith("--settings="):
            argument = own + argument[len("--settings") :]
        translated.append(argument)
    return translated


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(translate_argv(sys.argv))


if __name__ == "__main__":
    main()
