"""Resources (machines, service lines) and their idle-window calendar."""

from services.resources.service import (
    create,
    delete,
    get,
    get_all,
    known_ids,
    replace_windows,
    to_domain,
    update,
)

__all__ = ["create", "delete", "get", "get_all", "known_ids", "replace_windows", "to_domain",
           "update"]
