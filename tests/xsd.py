"""Validate documents against the shared ESPI schemas, offline.

Both ``atom.xsd`` copies import ``xml.xsd`` from ``https://www.w3.org/2001/03/xml.xsd``; a
resolver maps that location to the local copy in ``specs/espi/xsd`` and the parser never
touches the network. ESPI 4.0 is ``espi-4.0/espi.xsd`` (it imports its ``atom.xsd``); ESPI 3.3
is ``espi-3.3/usage.xsd`` (same namespace, an atom.xsd that requires ``link/@type``).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from lxml import etree

from tests.samples import XSD

SCHEMAS: Final = {"4.0": XSD / "espi-4.0" / "espi.xsd", "3.3": XSD / "espi-3.3" / "usage.xsd"}


class _LocalXmlXsd(etree.Resolver):
    """Resolve the W3C ``xml.xsd`` import to the shared local copy."""

    def resolve(self, system_url: str, _public_id: str, context: object = None) -> Any:
        if system_url.endswith("/xml.xsd"):
            return self.resolve_filename(str(XSD / "xml.xsd"), context)  # type: ignore[attr-defined]
        return None


@cache
def espi_schema(version: str = "4.0") -> etree.XMLSchema:
    """The compiled ESPI schema (with Atom), ``"4.0"`` or ``"3.3"``."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_LocalXmlXsd())
    return etree.XMLSchema(etree.parse(str(SCHEMAS[version]), parser))


def schema_errors(document: bytes, version: str = "4.0") -> list[str]:
    """Every validation error of ``document`` as ``line N: message`` (empty when valid)."""
    schema = espi_schema(version)
    tree = etree.fromstring(document, parser=etree.XMLParser(resolve_entities=False))
    if schema.validate(tree):
        return []
    return str(schema.error_log).splitlines()


def assert_valid(document: bytes, version: str = "4.0") -> None:
    """Fail with every schema error when ``document`` is not valid ESPI ``version``."""
    errors = schema_errors(document, version)
    assert not errors, "\n".join(errors)


@cache
def customer_schema() -> etree.XMLSchema:
    """ESPI 4.0 atom, espi and customer in one schema (retail-customer feeds hold ``cust:``).

    atom.xsd's ``content`` takes any element of another namespace *strictly*, so a customer
    feed validates only against a schema that also declares customer.xsd's elements.
    """
    folder = XSD / "espi-4.0"
    imports = (("espi", "espi.xsd"), ("espi/customer", "customer.xsd"))
    wrapper = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        + "".join(
            f'<xs:import namespace="http://naesb.org/{namespace}" '
            f'schemaLocation="{(folder / name).as_uri()}"/>'
            for namespace, name in imports
        )
        + "</xs:schema>"
    )
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_LocalXmlXsd())
    return etree.XMLSchema(etree.fromstring(wrapper, parser))


def customer_schema_errors(document: bytes) -> list[str]:
    """Every ESPI 4.0 atom/espi/customer validation error of ``document`` (empty when valid)."""
    schema = customer_schema()
    tree = etree.fromstring(document, parser=etree.XMLParser(resolve_entities=False))
    if schema.validate(tree):
        return []
    return str(schema.error_log).splitlines()
