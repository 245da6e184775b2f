"""``python -m idp.cli``: the `idp` command."""
import sys

from . import main

sys.exit(main())
