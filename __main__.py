"""``python -m terrafind [ARGS]``: the desktop app, as the ``terrafind`` command starts it."""

import sys

from terrafind.gui.app import main

sys.exit(main())
