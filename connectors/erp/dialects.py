"""The ERP dialects' reader classes: each is `connectors.declarative.Declarative` bound to its preset
(`connectors/declarative/presets/<dialect>.yaml`); no vendor has Python of its own. `Dialect` is the
interface `connectors.erp.pages` reads a stream through."""

from connectors.declarative import Declarative as Dialect
from connectors.declarative import LegacyXml, OAuthCursor, Rest, SignedJson
from connectors.declarative.reader import FIXED_WIDTH_FORMATS, SHANGHAI

__all__ = ["FIXED_WIDTH_FORMATS", "SHANGHAI", "Dialect", "LegacyXml", "OAuthCursor", "Rest", "SignedJson"]
