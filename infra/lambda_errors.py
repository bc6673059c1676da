"""Old path of the Lambda errors, kept importable: use infra.lambda_cloud (errors.py draws the tree)."""

from infra.lambda_cloud.errors import *  # noqa: F403 - the old module's whole namespace
from infra.lambda_cloud.errors import __all__  # noqa: F401
