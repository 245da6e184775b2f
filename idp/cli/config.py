"""``idp config``: every setting in effect, where it came from, and whether the server would accept it."""
from __future__ import annotations

import os

import click

from ..config import ENV_FILE_VARIABLE, explain
from ..errors import ConfigError
from .context import emit, json_option


@click.command("config", help="Show every setting in effect, where it came from (env, the IDP_ENV_FILE file, "
                              "default) and its default; secrets masked. Exit 2 when the server would refuse "
                              "the settings.")
@click.option("--doc", is_flag=True, help="Also print what each setting means.")
@json_option
def config_doc(doc, as_json):
    rows, problems = explain()
    if as_json:
        emit(True, rows, "")
    else:
        def show(value):
            return "(unset)" if value is None else ("''" if value == "" else value)
        env_file = os.environ.get(ENV_FILE_VARIABLE)
        click.echo(f"{ENV_FILE_VARIABLE}={env_file}" if env_file else
                   f"{ENV_FILE_VARIABLE} is not set: environment and defaults only")
        for row in rows:
            line = f"{row['env']:30} {show(row['value']):40} {row['source']}"
            if row["source"] != "default" and row["default"] is not None:
                line += f" (default {show(row['default'])})"
            click.echo(line)
            if doc:
                click.echo(f"{'':30} {row['doc']}")
    if problems:
        raise ConfigError(problems)
