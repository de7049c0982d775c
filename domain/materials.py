"""Material codes: the names orders and resources use for what is being worked.

A material is a short lowercase code (``al6061``); orders name one, resources list the ones
they take (none listed: any). The platform does not refuse other codes (a factory may take a
material this list lacks), but a code from here is the one every park spells the same way,
which is what matching compares. Grades follow the Chinese standard names (GB/T) with their
usual international equivalents.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Material:
    """One material code with its family and display names."""

    code: str
    family: str
    zh: str
    en: str


MATERIAL_FAMILIES: dict[str, tuple[str, str]] = {
    "aluminium": ("铝合金", "Aluminium alloys"),
    "steel": ("钢", "Steels"),
    "stainless": ("不锈钢", "Stainless steels"),
    "titanium": ("钛合金", "Titanium alloys"),
    "copper": ("铜及铜合金", "Copper and copper alloys"),
    "zinc": ("锌合金", "Zinc alloys"),
    "polymer": ("塑料", "Plastics"),
    "composite": ("复合材料", "Composites and laminates"),
    "textile": ("纺织面料", "Textiles"),
}

_MATERIALS: tuple[tuple[str, str, str, str], ...] = (
    ("al6061", "aluminium", "6061铝合金", "Aluminium 6061"),
    ("al7075", "aluminium", "7075铝合金", "Aluminium 7075"),
    ("steel45", "steel", "45号钢", "Carbon steel 45 (C45)"),
    ("q235", "steel", "Q235碳素结构钢", "Structural steel Q235 (S235)"),
    ("40cr", "steel", "40Cr合金钢", "Alloy steel 40Cr (41Cr4)"),
    ("ss304", "stainless", "304不锈钢", "Stainless steel 304"),
    ("ss316", "stainless", "316不锈钢", "Stainless steel 316"),
    ("ti6al4v", "titanium", "TC4钛合金", "Titanium Ti-6Al-4V"),
    ("brass", "copper", "黄铜H62", "Brass (H62)"),
    ("copper", "copper", "紫铜T2", "Copper (T2)"),
    ("zamak", "zinc", "锌合金(压铸)", "Zamak (zinc die-casting alloy)"),
    ("pp", "polymer", "聚丙烯", "Polypropylene (PP)"),
    ("abs", "polymer", "ABS塑料", "ABS"),
    ("pa66", "polymer", "尼龙66", "Nylon 66 (PA66)"),
    ("pc", "polymer", "聚碳酸酯", "Polycarbonate (PC)"),
    ("pla", "polymer", "聚乳酸", "PLA"),
    ("resin", "polymer", "光敏树脂", "Photopolymer resin"),
    ("fr4", "composite", "FR-4覆铜板", "FR-4 laminate"),
    ("cotton", "textile", "棉", "Cotton"),
    ("polyester", "textile", "涤纶", "Polyester"),
)

MATERIALS: dict[str, Material] = {
    code: Material(code=code, family=family, zh=zh, en=en)
    for code, family, zh, en in _MATERIALS
}


def is_known(code: str) -> bool:
    """True when ``code`` is a listed material (others are allowed, just not listed)."""
    return code in MATERIALS
