"""`python -m soroka` is the `soroka` command."""

import sys

from soroka.cli import main

sys.exit(main())
