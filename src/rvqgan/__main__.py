import sys

from rvqgan.cli.main import main

sys.exit(main())
