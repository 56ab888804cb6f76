"""`python -m nodes.openai.emulator --port N`: run the emulator until interrupted."""

from __future__ import annotations

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
