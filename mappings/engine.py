"""Apply a mapping YAML (`mappings.engine`): the names every caller imports, re-exported from the
modules that hold them since issue 14:

- `mappings.spec`: loading and validating the YAML (`Mapping`, `load_mapping`, `parse_mapping`,
  `canonical_mapping`, `templates`);
- `mappings.detection`: which template or canonical format fits a file's headers (`detect_mapping`,
  `known_headers`, `NoMappingFound`);
- `mappings.application`: `Mapping.apply`, one `SourceFrame` in, one typed frame per entity out;
- `mappings.conversion`: the typed casts, code lists and the mapping rules a field can fail.

The canonical dtypes are `tourlink.frames.DTYPES`.
"""

from mappings.application import PAGE_FILE, apply_mapping
from mappings.conversion import BOOLEANS, TYPE_HINTS, code_list_lookup
from mappings.detection import NoMappingFound, detect_mapping, known_headers
from mappings.spec import (
    CANONICAL_PREFIX,
    SOURCE_DIR,
    TEMPLATE_DIR,
    EntityRule,
    FieldRule,
    Mapping,
    canonical_mapping,
    load_mapping,
    parse_mapping,
    templates,
)
from tourlink.frames import DTYPES

__all__ = [
    "BOOLEANS",
    "CANONICAL_PREFIX",
    "DTYPES",
    "PAGE_FILE",
    "SOURCE_DIR",
    "TEMPLATE_DIR",
    "TYPE_HINTS",
    "EntityRule",
    "FieldRule",
    "Mapping",
    "NoMappingFound",
    "apply_mapping",
    "canonical_mapping",
    "code_list_lookup",
    "detect_mapping",
    "known_headers",
    "load_mapping",
    "parse_mapping",
    "templates",
]
