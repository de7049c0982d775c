"""/processes and /materials: the valid process codes and the listed material codes."""

from __future__ import annotations

from fastapi import APIRouter, Query

from domain.materials import MATERIAL_FAMILIES, MATERIALS
from domain.processes import FAMILIES, PROCESSES, UNITS
from services.catalog.models import FamilyRead, MaterialRead, Names, ProcessRead, UnitRead
from services.core.errors import InvalidError, NotFoundError

router = APIRouter(tags=["catalog"])


def _process(code: str) -> ProcessRead:
    p = PROCESSES[code]
    fam_zh, fam_en = FAMILIES[p.family]
    unit_zh, unit_en = UNITS[p.unit]
    return ProcessRead(code=p.code, family=FamilyRead(code=p.family, name=Names(zh=fam_zh,
                                                                                en=fam_en)),
                       name=Names(zh=p.zh, en=p.en),
                       unit=UnitRead(code=p.unit, name=Names(zh=unit_zh, en=unit_en)))


def _material(code: str) -> MaterialRead:
    mat = MATERIALS[code]
    fam_zh, fam_en = MATERIAL_FAMILIES[mat.family]
    return MaterialRead(code=mat.code, family=FamilyRead(code=mat.family,
                                                         name=Names(zh=fam_zh, en=fam_en)),
                        name=Names(zh=mat.zh, en=mat.en))


@router.get("/processes", response_model=list[ProcessRead])
def list_processes(family: str | None = Query(None, description="only this family, e.g. "
                                                                "machining")
                   ) -> list[ProcessRead]:
    """Every process code a resource or an order step may name (anything else is a 422)."""
    if family is not None and family not in FAMILIES:
        raise InvalidError("query.family", f"unknown family {family!r}; known: "
                                           f"{', '.join(FAMILIES)}")
    return [_process(c) for c, p in PROCESSES.items() if family in (None, p.family)]


@router.get("/processes/{code}", response_model=ProcessRead)
def get_process(code: str) -> ProcessRead:
    if code not in PROCESSES:
        raise NotFoundError("process", code)
    return _process(code)


@router.get("/materials", response_model=list[MaterialRead])
def list_materials(family: str | None = Query(None, description="only this family, e.g. "
                                                                "stainless")
                   ) -> list[MaterialRead]:
    """The listed material codes. Others are accepted (a factory may take one this list
    lacks), but matching compares codes, so use these spellings where one fits."""
    if family is not None and family not in MATERIAL_FAMILIES:
        raise InvalidError("query.family", f"unknown family {family!r}; known: "
                                           f"{', '.join(MATERIAL_FAMILIES)}")
    return [_material(c) for c, m in MATERIALS.items() if family in (None, m.family)]
