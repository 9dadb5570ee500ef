"""``python -m turborl ...``: the turborl command line."""

import sys

from turborl.cli import main

sys.exit(main())
