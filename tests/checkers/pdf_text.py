"""Reads a PDF on stdin with the `pypdf` package (an independent reader) and prints its
number of pages and the text of each page, as JSON. Used by the API tests."""

import io
import json
import sys

import pypdf

reader = pypdf.PdfReader(io.BytesIO(sys.stdin.buffer.read()))
json.dump({"pages": [page.extract_text() for page in reader.pages]}, sys.stdout)
