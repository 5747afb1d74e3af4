"""`driverwatch config default` / `driverwatch config validate [FILE]`."""

from __future__ import annotations


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="config_cmd", required=True, metavar="ACTION")
    sub.add_parser("default", help="print the documented default config (TOML)")
    v = sub.add_parser("validate", help="validate a config file (default: the one in use)")
    v.add_argument("file", nargs="?", help="config file to validate")


def main(args) -> int:
    from driverwatch.config import load_config
    from driverwatch.config.document import render_default_config

    if args.config_cmd == "default":
        print(render_default_config(), end="")
        return 0
    load_config(args.file or args.config)
    print("config OK")
    return 0
