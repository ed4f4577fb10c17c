"""``python -m examples.incident``: the end-to-end demo (see :mod:`examples.incident.demo`)."""

from __future__ import annotations

import sys

from .demo import main

sys.exit(main())
