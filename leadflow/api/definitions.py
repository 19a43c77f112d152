"""Lead definitions: versions, sign-off, diff and what-if."""

from ninja import Router

router = Router(tags=["lead definition"])
