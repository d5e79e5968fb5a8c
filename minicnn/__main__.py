"""``python -m minicnn ...`` runs the ``minicnn`` command."""
import sys

from .cli import main

sys.exit(main())
