"""Entry point of the frozen app: `terrafind [PATH|PROJECT]`, `terrafind --selftest`, `terrafind cli ...`."""

import sys


def run() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "cli":
        from terrafind.core.cli.main import main as cli_main

        return cli_main(sys.argv[2:])
    from terrafind.gui.app import main

    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(run())
