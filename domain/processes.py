"""Process taxonomy: the codes every resource and every order step speak.

A code is ``family.process`` (``machining.cnc_milling``). Families follow the usual split of
discrete manufacturing (GB/T 4754 C33-C35 sub-classes and the process classes of JB/T 5054),
plus the service lines a shared-manufacturing park offers (inspection, logistics, design).
Names are given in zh-CN and en so the dashboard and quotes can show either. ``unit`` is the
quantity a process is usually measured and priced in by the trade (pieces, metres of cut or
seam, square metres of coating, kilograms through a furnace, hours of a service); the platform
itself always counts pieces and minutes per piece, the unit tells a person what to expect.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Process:
    """One process step a resource can perform."""

    code: str
    family: str
    zh: str
    en: str
    unit: str = "piece"  # piece | m | m2 | kg | h (see UNITS)


_FAMILIES: dict[str, tuple[str, str]] = {
    "cutting": ("下料切割", "Cutting"),
    "machining": ("机械加工", "Machining"),
    "forming": ("成形", "Forming"),
    "welding": ("焊接", "Welding"),
    "surface": ("表面处理", "Surface treatment"),
    "heat": ("热处理", "Heat treatment"),
    "molding": ("注塑与铸造", "Molding and casting"),
    "additive": ("增材制造", "Additive manufacturing"),
    "assembly": ("装配", "Assembly"),
    "inspection": ("检验检测", "Inspection and testing"),
    "textile": ("纺织服装", "Textile and garment"),
    "electronics": ("电子制造", "Electronics manufacturing"),
    "logistics": ("物流服务", "Logistics services"),
    "design": ("设计服务", "Design services"),
}

_PROCESSES: tuple[tuple[str, str, str], ...] = (
    ("cutting.laser", "激光切割", "Laser cutting"),
    ("cutting.plasma", "等离子切割", "Plasma cutting"),
    ("cutting.waterjet", "水刀切割", "Waterjet cutting"),
    ("cutting.saw", "锯切下料", "Sawing"),
    ("machining.cnc_milling", "数控铣削", "CNC milling"),
    ("machining.cnc_turning", "数控车削", "CNC turning"),
    ("machining.drilling", "钻削", "Drilling"),
    ("machining.grinding", "磨削", "Grinding"),
    ("machining.edm", "电火花加工", "Electrical discharge machining"),
    ("machining.five_axis", "五轴加工", "Five-axis machining"),
    ("forming.stamping", "冲压", "Stamping"),
    ("forming.bending", "折弯", "Press-brake bending"),
    ("forming.forging", "锻造", "Forging"),
    ("forming.extrusion", "挤压", "Extrusion"),
    ("welding.mig", "气体保护焊", "MIG/MAG welding"),
    ("welding.tig", "氩弧焊", "TIG welding"),
    ("welding.laser", "激光焊", "Laser welding"),
    ("welding.robotic", "机器人焊接", "Robotic welding"),
    ("surface.painting", "喷漆", "Painting"),
    ("surface.powder_coating", "喷塑", "Powder coating"),
    ("surface.anodizing", "阳极氧化", "Anodizing"),
    ("surface.electroplating", "电镀", "Electroplating"),
    ("surface.polishing", "抛光", "Polishing"),
    ("surface.sandblasting", "喷砂", "Sandblasting"),
    ("heat.quenching", "淬火", "Quenching"),
    ("heat.annealing", "退火", "Annealing"),
    ("heat.carburizing", "渗碳", "Carburizing"),
    ("molding.injection", "注塑成型", "Injection molding"),
    ("molding.die_casting", "压铸", "Die casting"),
    ("molding.sand_casting", "砂型铸造", "Sand casting"),
    ("additive.fdm", "熔融沉积打印", "FDM printing"),
    ("additive.sla", "光固化打印", "SLA printing"),
    ("additive.slm", "金属激光熔化", "Selective laser melting"),
    ("assembly.manual", "手工装配", "Manual assembly"),
    ("assembly.automated", "自动化装配", "Automated assembly"),
    ("assembly.packaging", "包装", "Packaging"),
    ("inspection.cmm", "三坐标测量", "CMM inspection"),
    ("inspection.ndt", "无损检测", "Non-destructive testing"),
    ("inspection.visual", "外观检验", "Visual inspection"),
    ("textile.cutting", "裁剪", "Fabric cutting"),
    ("textile.sewing", "缝制", "Sewing"),
    ("textile.dyeing", "染色", "Dyeing"),
    ("textile.printing", "印花", "Textile printing"),
    ("electronics.smt", "贴片", "SMT placement"),
    ("electronics.wave_soldering", "波峰焊", "Wave soldering"),
    ("electronics.testing", "电子测试", "Electronics testing"),
    ("logistics.warehousing", "仓储", "Warehousing"),
    ("logistics.kitting", "配套分拣", "Kitting"),
    ("design.cad", "结构设计", "CAD design"),
)

UNITS: dict[str, tuple[str, str]] = {
    "piece": ("件", "piece"),
    "m": ("米", "metre (of cut or seam)"),
    "m2": ("平方米", "square metre (of surface)"),
    "kg": ("千克", "kilogram (through the furnace)"),
    "h": ("小时", "hour (of service)"),
}
# The unit of a family, and of the processes that differ from their family's.
_FAMILY_UNITS: dict[str, str] = {"cutting": "m", "welding": "m", "surface": "m2", "heat": "kg",
                                 "design": "h", "logistics": "h", "textile": "piece"}
_PROCESS_UNITS: dict[str, str] = {"cutting.saw": "piece", "welding.robotic": "piece",
                                  "surface.polishing": "piece", "textile.dyeing": "kg",
                                  "textile.printing": "m2", "logistics.kitting": "piece"}


def _unit(code: str) -> str:
    return _PROCESS_UNITS.get(code) or _FAMILY_UNITS.get(code.split(".", 1)[0], "piece")


PROCESSES: dict[str, Process] = {
    code: Process(code=code, family=code.split(".", 1)[0], zh=zh, en=en, unit=_unit(code))
    for code, zh, en in _PROCESSES
}
FAMILIES: dict[str, tuple[str, str]] = dict(_FAMILIES)


def is_known(code: str) -> bool:
    """True when ``code`` is in the taxonomy."""
    return code in PROCESSES


def get(code: str) -> Process:
    """The process of ``code``; KeyError with the nearest valid codes when unknown."""
    try:
        return PROCESSES[code]
    except KeyError:
        family = code.split(".", 1)[0]
        near = [c for c in PROCESSES if c.startswith(family + ".")] or list(FAMILIES)
        raise KeyError(f"unknown process code {code!r}; known in that family: {near}") from None


def family_name(family: str, lang: str = "en") -> str:
    """Display name of a process family in ``lang`` (``en`` or ``zh``)."""
    zh, en = FAMILIES[family]
    return zh if lang == "zh" else en
