"""Schemas of the catalogue answers (read-only, from domain.processes and domain.materials)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Names(BaseModel):
    zh: str
    en: str


class FamilyRead(BaseModel):
    code: str
    name: Names


class UnitRead(BaseModel):
    code: str = Field(description="piece | m | m2 | kg | h")
    name: Names


class ProcessRead(BaseModel):
    code: str = Field(description="family.process: what resources and order steps name")
    family: FamilyRead
    name: Names
    unit: UnitRead = Field(description="what the trade usually measures and prices this in; "
                                       "the platform counts pieces and minutes per piece")


class MaterialRead(BaseModel):
    code: str = Field(description="what orders (material) and resources (materials) name")
    family: FamilyRead
    name: Names
