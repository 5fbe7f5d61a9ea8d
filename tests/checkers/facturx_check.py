"""Reads a Factur-X PDF on stdin and checks it with independent readers: the `factur-x`
package (Akretion's reference library) finds the embedded XML and validates it against the
official Factur-X XSD of its level, lxml reads the totals back, pypdf extracts the page texts.
Prints one JSON object; a failed check is reported in it, never raised. Used by
crates/rdv-shop/tests/facturx.rs."""

import io
import json
import logging
import sys

import pypdf
from facturx import get_facturx_xml_from_pdf, get_flavor, get_level, xml_check_xsd
from lxml import etree

# The library logs its warnings on stderr; the JSON on stdout says what matters.
logging.disable(logging.WARNING)

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}
TOTALS = ["LineTotalAmount", "TaxBasisTotalAmount", "TaxTotalAmount", "GrandTotalAmount",
          "TotalPrepaidAmount", "DuePayableAmount"]


def first(root, xpath):
    found = root.xpath(xpath, namespaces=NS)
    return found[0].text if found else None


def main():
    pdf = sys.stdin.buffer.read()
    out = {"filename": None, "flavor": None, "level": None, "valid": False, "error": None,
           "type_code": None, "number": None, "totals": {}, "pages": []}
    try:
        # No XSD check here: an invalid file would be skipped silently; it is checked below,
        # where the error can be reported.
        filename, xml = get_facturx_xml_from_pdf(io.BytesIO(pdf), check_xsd=False)
        out["filename"] = filename or None
        if xml:
            root = etree.fromstring(xml)
            out["flavor"] = get_flavor(root)
            out["level"] = get_level(root, out["flavor"])
            out["type_code"] = first(root, "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode")
            out["number"] = first(root, "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID")
            summation = ("/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction"
                         "/ram:ApplicableHeaderTradeSettlement"
                         "/ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:")
            out["totals"] = {name: first(root, summation + name) for name in TOTALS}
            try:
                out["valid"] = xml_check_xsd(root, flavor="factur-x", level="en16931")
            except Exception as err:  # the library raises a bare Exception on invalid XML
                out["error"] = str(err)
        else:
            out["error"] = "no factur-x.xml attachment found"
    except Exception as err:
        out["error"] = f"{type(err).__name__}: {err}"
    try:
        reader = pypdf.PdfReader(io.BytesIO(pdf))
        out["pages"] = [page.extract_text() for page in reader.pages]
    except Exception as err:
        out["error"] = (out["error"] or "") + f" pypdf: {type(err).__name__}: {err}"
    json.dump(out, sys.stdout)


main()
