"""Who is calling: the one object every authorisation decision is made from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``org_kind`` is one of sme | factory | park | analyst | platform; ``role`` one of
    admin | member | viewer; ``actor`` names the credential for the audit trail, e.g.
    ``key:sfk_1a2b3c4d`` or ``user:ops@example.com``.
    """

    org_id: str
    org_kind: str
    role: str
    actor: str

    @property
    def is_platform(self) -> bool:
        """True for the platform operator's own organisation (sees and may do everything)."""
        return self.org_kind == "platform"
