"""``python -m tscompress`` is the ``tscompress`` command."""

import sys

from .cli import main

sys.exit(main())
