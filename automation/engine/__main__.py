"""`python -m automation.engine`."""

import sys

from automation.engine.command import main

sys.exit(main())
