import sys

from effbench.cli import main

sys.exit(main())
