"""`python -m seqattn train ...` / `python -m seqattn predict ...` (see seqattn/cli.py)."""

import sys

from .cli import main

sys.exit(main())
