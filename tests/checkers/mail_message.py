"""Reads one email (RFC 5322 bytes) on stdin and prints, as JSON, what a reader sees: the
decoded headers that matter and the plain-text and HTML parts. Python's own email package is
the independent parser."""
import json
import sys
from email import policy
from email.parser import BytesParser

msg = BytesParser(policy=policy.default).parse(sys.stdin.buffer)
out = {
    "subject": str(msg["subject"] or ""),
    "from": str(msg["from"] or ""),
    "to": str(msg["to"] or ""),
    "message_id": str(msg["message-id"] or ""),
    "list_unsubscribe": msg["list-unsubscribe"] and str(msg["list-unsubscribe"]),
    "list_unsubscribe_post": msg["list-unsubscribe-post"] and str(msg["list-unsubscribe-post"]),
    "content_type": msg.get_content_type(),
    "text": None,
    "html": None,
    "attachments": [],
}
for part in msg.walk():
    if part.get_content_disposition() == "attachment":
        payload = part.get_payload(decode=True) or b""
        out["attachments"].append({
            "filename": part.get_filename(),
            "content_type": part.get_content_type(),
            "method": part.get_param("method"),
            "text": payload.decode("utf-8", "replace"),
        })
    elif part.get_content_type() == "text/plain" and out["text"] is None:
        out["text"] = part.get_content()
    elif part.get_content_type() == "text/html" and out["html"] is None:
        out["html"] = part.get_content()
json.dump(out, sys.stdout)
