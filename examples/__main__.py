"""``python -m examples`` runs the quickstart."""

import asyncio

from examples.quickstart import main

asyncio.run(main())
