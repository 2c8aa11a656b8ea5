"""`python -m asnet_keras COMMAND …`: the `asnet` command without installing the package."""

import sys

from asnet_keras.commands import main

if __name__ == "__main__":
    sys.exit(main())
