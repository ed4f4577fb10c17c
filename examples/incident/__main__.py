"""``python -m examples.incident``: the end-to-end demo (see :mod:`examples.incident.demo`)."""

from __future__ import annotations

import sys

from examples.incident.demo import main

sys.exit(main())
