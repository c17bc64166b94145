"""The production settings, with the collected static files where the test puts them.

Production collects static files into the image (Dockerfile) and serves them
with WhiteNoise's manifest storage, which refuses to render a page whose files
were never collected; the served-API test collects them into its own directory.
"""

import os

from dataproc_site.settings import *  # noqa: F403

STATIC_ROOT = os.environ["TEST_STATIC_ROOT"]
