#!/usr/bin/python3
"""paysim: the payment-provider simulator of `make run` and `make test`.

A small HTTP server speaking a Stripe-like protocol (checkout sessions, a hosted payment page,
refunds, signed webhooks), so that neither the tests nor the demo ever reach a real provider.
Standard library only; run by Debian's /usr/bin/python3. The protocol is described in
docs/payment-simulator.md; scripts/paysim.sh starts it for a checkout.

    paysim.py [--host 127.0.0.1] [--port 0] --api-key KEY --webhook-secret SECRET
              [--public-url URL]

Once listening it prints its port on stdout (one line) and logs each request to stderr. All
state is in memory, behind one lock that is never held while a webhook is being delivered: the
server is threaded, so a webhook handler may call the simulator back.
"""

import argparse
import hashlib
import hmac
import html
import http.client
import json
import re
import secrets
import socket
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# outcome -> (session status, webhook event type)
OUTCOMES = {
    "succeeded": ("paid", "checkout.session.completed"),
    "failed": ("failed", "checkout.session.failed"),
    "cancelled": ("cancelled", "checkout.session.cancelled"),
}
# A webhook is tried once, then retried after each of these delays while it is not answered 2xx.
RETRY_DELAYS = (0.5, 1.0)
WEBHOOK_TIMEOUT = 10
MAX_BODY = 1 << 20
MAX_IDEMPOTENCY_KEY = 255

ID_RE = r"[A-Za-z0-9_]+"
ROUTES = [
    ("GET", re.compile(r"/health"), "health"),
    ("POST", re.compile(r"/v1/checkout/sessions"), "create_session"),
    ("GET", re.compile(r"/v1/checkout/sessions/(%s)" % ID_RE), "get_session"),
    ("POST", re.compile(r"/v1/checkout/sessions/(%s)/complete" % ID_RE), "complete_session"),
    ("POST", re.compile(r"/v1/refunds"), "create_refund"),
    ("GET", re.compile(r"/v1/events"), "list_events"),
    ("POST", re.compile(r"/v1/events/(%s)/resend" % ID_RE), "resend_event"),
    ("GET", re.compile(r"/pay/(%s)" % ID_RE), "pay_page"),
    ("POST", re.compile(r"/pay/(%s)" % ID_RE), "pay_submit"),
]


def log(message):
    sys.stderr.write("%s paysim: %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), message))
    sys.stderr.flush()


def new_id(prefix):
    return prefix + secrets.token_hex(12)


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid(field, message):
    return ApiError(400, "invalid_request", "%s: %s" % (field, message))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook answered with a redirect is an answer (not 2xx), not something to follow."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


# No proxy, whatever the environment says: webhooks go straight to the platform.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


# ---------------------------------------------------------------------------------------------
# Validation


def check_fields(body, allowed):
    for name in body:
        if name not in allowed:
            raise invalid(name, "unknown field")


def want_amount(body, field):
    value = body.get(field)
    if field not in body or value is None:
        raise invalid(field, "required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "must be an integer number of cents")
    if value <= 0:
        raise invalid(field, "must be greater than 0")
    return value


def want_string(body, field, min_len=0, max_len=None, required=True):
    if field not in body or body[field] is None:
        if required:
            raise invalid(field, "required")
        return None
    value = body[field]
    if not isinstance(value, str):
        raise invalid(field, "must be a string")
    if len(value) < min_len:
        raise invalid(field, "must not be empty" if min_len == 1 else
                      "must have at least %d characters" % min_len)
    if max_len is not None and len(value) > max_len:
        raise invalid(field, "must have at most %d characters" % max_len)
    return value


def want_url(body, field):
    value = want_string(body, field, 1, 2048)
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # raises ValueError on a bad port
    except ValueError:
        raise invalid(field, "must be an absolute http(s) URL")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(field, "must be an absolute http(s) URL")
    return value


def want_outcome(body):
    check_fields(body, ("outcome",))
    outcome = want_string(body, "outcome")
    if outcome not in OUTCOMES:
        raise invalid("outcome", "must be one of succeeded, failed, cancelled")
    return outcome


def fingerprint(body):
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# State and webhooks


class Simulator:
    def __init__(self, api_key, webhook_secret, base_url):
        self.api_key = api_key.encode()
        self.webhook_secret = webhook_secret.encode()
        self.base_url = base_url
        self.lock = threading.Lock()
        self.sessions = {}  # id -> session (internal dict)
        self.payments = {}  # payment id -> session id
        self.refunds = {}  # id -> refund
        self.events = {}  # id -> event, in creation order
        self.idempotency = {}  # (scope, key) -> (fingerprint of the body, resource id)

    # Views -----------------------------------------------------------------------------------

    @staticmethod
    def session_view(s):
        return {
            "id": s["id"],
            "url": s["url"],
            "status": s["status"],
            "amount": s["amount"],
            "currency": s["currency"],
            "reference": s["reference"],
            "payment_id": s["payment_id"],
            "refunded": s["refunded"],
        }

    @staticmethod
    def refund_view(r):
        return {"id": r["id"], "payment_id": r["payment_id"], "amount": r["amount"],
                "status": r["status"]}

    @staticmethod
    def event_view(e):
        return {"id": e["id"], "type": e["type"], "created": e["created"],
                "delivered_status": e["delivered_status"], "attempts": e["attempts"]}

    def authorized(self, header):
        if not header:
            return False
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(token.strip().encode(), self.api_key)

    # Idempotency -----------------------------------------------------------------------------

    def replay(self, scope, key, body):
        """The id of what an earlier request with this key made, or None; the caller holds the
        lock. The same key with another body is a conflict."""
        if key is None:
            return None
        known = self.idempotency.get((scope, key))
        if known is None:
            return None
        if known[0] != fingerprint(body):
            raise ApiError(409, "idempotency_mismatch",
                           "Idempotency-Key %r was already used with another body" % key)
        return known[1]

    # Sessions --------------------------------------------------------------------------------

    def create_session(self, body, key):
        with self.lock:
            existing = self.replay("checkout.session", key, body)
            if existing is not None:
                return 200, self.session_view(self.sessions[existing])
            check_fields(body, ("amount", "currency", "reference", "description", "success_url",
                                "cancel_url", "webhook_url"))
            amount = want_amount(body, "amount")
            currency = want_string(body, "currency")
            if currency != "EUR":
                raise invalid("currency", 'must be "EUR"')
            reference = want_string(body, "reference", 1, 100)
            description = want_string(body, "description")
            success_url = want_url(body, "success_url")
            cancel_url = want_url(body, "cancel_url")
            webhook_url = want_url(body, "webhook_url")
            sid = new_id("cs_")
            session = {
                "id": sid,
                "url": "%s/pay/%s" % (self.base_url, sid),
                "status": "open",
                "amount": amount,
                "currency": currency,
                "reference": reference,
                "description": description,
                "success_url": success_url,
                "cancel_url": cancel_url,
                "webhook_url": webhook_url,
                "payment_id": None,
                "refunded": 0,
                "created": int(time.time()),
            }
            self.sessions[sid] = session
            if key is not None:
                self.idempotency[("checkout.session", key)] = (fingerprint(body), sid)
            return 201, self.session_view(session)

    def get_session(self, sid):
        with self.lock:
            session = self.sessions.get(sid)
            if session is None:
                raise ApiError(404, "not_found", "no checkout session %s" % sid)
            return self.session_view(session)

    def settle(self, sid, outcome):
        """Closes an open session with an outcome and delivers its event. Returns the session
        (after delivery), the event id and the webhook's status."""
        status, event_type = OUTCOMES[outcome]
        with self.lock:
            session = self.sessions.get(sid)
            if session is None:
                raise ApiError(404, "not_found", "no checkout session %s" % sid)
            if session["status"] != "open":
                raise ApiError(409, "session_not_open",
                               "checkout session %s is already %s" % (sid, session["status"]))
            session["status"] = status
            if status == "paid":
                session["payment_id"] = new_id("pay_")
                self.payments[session["payment_id"]] = sid
            event_id = self.new_event(event_type, session, {})
        log("session %s %s (%s)" % (sid, status, session["reference"]))
        webhook_status = self.deliver(event_id)
        return self.get_session(sid), event_id, webhook_status

    # Refunds ---------------------------------------------------------------------------------

    def create_refund(self, body, key):
        with self.lock:
            existing = self.replay("refund", key, body)
            if existing is not None:
                return 200, self.refund_view(self.refunds[existing]), None
            check_fields(body, ("payment_id", "amount", "reason"))
            payment_id = want_string(body, "payment_id", 1, 100)
            amount = want_amount(body, "amount")
            reason = want_string(body, "reason", required=False)
            sid = self.payments.get(payment_id)
            if sid is None:
                raise ApiError(404, "not_found", "no payment %s" % payment_id)
            session = self.sessions[sid]
            remaining = session["amount"] - session["refunded"]
            if amount > remaining:
                raise ApiError(400, "amount_too_large",
                               "amount: %d cents is more than the %d still refundable on %s"
                               % (amount, remaining, payment_id))
            refund = {"id": new_id("re_"), "payment_id": payment_id, "amount": amount,
                      "status": "succeeded", "reason": reason}
            self.refunds[refund["id"]] = refund
            session["refunded"] += amount
            if key is not None:
                self.idempotency[("refund", key)] = (fingerprint(body), refund["id"])
            event_id = self.new_event("refund.succeeded", session,
                                      {"refund_id": refund["id"], "refund_amount": amount})
        log("refund %s of %d cents on %s" % (refund["id"], amount, payment_id))
        self.deliver(event_id)
        return 201, self.refund_view(refund), event_id

    # Events ----------------------------------------------------------------------------------

    def new_event(self, event_type, session, extra):
        """Records an event about a session; the caller holds the lock. Its body is serialised
        here, once: every delivery sends these bytes."""
        event_id = new_id("evt_")
        created = int(time.time())
        data = {
            "session_id": session["id"],
            "payment_id": session["payment_id"],
            "reference": session["reference"],
            "amount": session["amount"],
            "currency": session["currency"],
        }
        data.update(extra)
        body = json.dumps({"id": event_id, "type": event_type, "created": created, "data": data},
                          separators=(",", ":")).encode()
        self.events[event_id] = {
            "id": event_id,
            "type": event_type,
            "created": created,
            "body": body,
            "webhook_url": session["webhook_url"],
            "delivered_status": None,
            "attempts": 0,
        }
        return event_id

    def list_events(self):
        with self.lock:
            return [self.event_view(e) for e in self.events.values()]

    def resend(self, event_id):
        with self.lock:
            if event_id not in self.events:
                raise ApiError(404, "not_found", "no event %s" % event_id)
        return self.deliver(event_id)

    def deliver(self, event_id):
        """Posts the event to its webhook URL, up to three times; returns the last HTTP status,
        or None when the last attempt got no answer. Called without the lock."""
        with self.lock:
            event = self.events[event_id]
            url, body, event_type = event["webhook_url"], event["body"], event["type"]
        status = None
        for attempt in range(1 + len(RETRY_DELAYS)):
            if attempt:
                time.sleep(RETRY_DELAYS[attempt - 1])
            status, detail = self.post_once(url, body)
            with self.lock:
                event["attempts"] += 1
                event["delivered_status"] = status
            log("webhook %s %s -> %s attempt %d: %s"
                % (event_id, event_type, url, attempt + 1, detail))
            if status is not None and 200 <= status < 300:
                break
        return status

    def sign(self, timestamp, body):
        return hmac.new(self.webhook_secret, b"%d." % timestamp + body, hashlib.sha256).hexdigest()

    def post_once(self, url, body):
        timestamp = int(time.time())
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "User-Agent": "paysim/1",
            "Paysim-Signature": "t=%d,v1=%s" % (timestamp, self.sign(timestamp, body)),
        })
        try:
            with OPENER.open(request, timeout=WEBHOOK_TIMEOUT) as response:
                response.read()
                return response.status, str(response.status)
        except urllib.error.HTTPError as e:
            try:
                e.read()
            except Exception:
                pass
            return e.code, str(e.code)
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as e:
            return None, "no answer (%s)" % (getattr(e, "reason", None) or e)


# ---------------------------------------------------------------------------------------------
# HTTP


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s</title>
<style>
body { font-family: system-ui, sans-serif; background: #f4f5f7; margin: 0; }
main { max-width: 28rem; margin: 4rem auto; background: #fff; padding: 2rem;
       border-radius: .5rem; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
.amount { font-size: 2rem; font-weight: bold; margin: .5rem 0 1.5rem; }
.note { color: #666; font-size: .85rem; }
button { font-size: 1rem; padding: .6rem 1.2rem; margin-right: .5rem; border-radius: .3rem;
         border: 1px solid #999; cursor: pointer; }
button.pay { background: #1a7f37; color: #fff; border-color: #1a7f37; }
</style>
</head>
<body>
<main>
%(content)s
<p class="note">Payment simulator (paysim): no real payment is ever made.</p>
</main>
</body>
</html>
"""


def euros(cents):
    return "%d.%02d €" % divmod(cents, 100)


def page(title, content):
    return (PAGE % {"title": html.escape(title), "content": content}).encode()


def message_page(title, text):
    return page(title, "<h1>%s</h1>\n<p>%s</p>" % (html.escape(title), html.escape(text)))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "paysim/1"

    def log_message(self, fmt, *args):
        log("%s %s" % (self.address_string(), fmt % args))

    # Plumbing --------------------------------------------------------------------------------

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length else b""

    def send(self, status, body, content_type, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, value):
        self.send(status, json.dumps(value).encode(), "application/json")

    def send_error_json(self, status, code, message, headers=()):
        body = json.dumps({"error": code, "message": message}).encode()
        self.send(status, body, "application/json", headers)

    def send_page(self, status, body):
        self.send(status, body, "text/html; charset=utf-8")

    def json_body(self):
        try:
            value = json.loads(self.body.decode("utf-8")) if self.body.strip() else None
        except (UnicodeDecodeError, ValueError):
            raise ApiError(400, "invalid_request", "body: not valid JSON")
        if not isinstance(value, dict):
            raise ApiError(400, "invalid_request", "body: must be a JSON object")
        return value

    def idempotency_key(self):
        key = self.headers.get("Idempotency-Key")
        if key is None:
            return None
        if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY:
            raise invalid("Idempotency-Key", "must have 1 to %d characters" % MAX_IDEMPOTENCY_KEY)
        return key

    def dispatch(self):
        sim = self.server.sim
        path = urllib.parse.urlsplit(self.path).path
        try:
            self.body = self.read_body()
        except ValueError as e:
            self.close_connection = True
            self.send_error_json(400, "invalid_request", "body: %s" % e)
            return
        allowed = []
        try:
            if path.startswith("/v1/") and not sim.authorized(self.headers.get("Authorization")):
                raise ApiError(401, "unauthorized", "a valid 'Authorization: Bearer <api key>' "
                                                    "header is required")
            for method, pattern, name in ROUTES:
                match = pattern.fullmatch(path)
                if match is None:
                    continue
                allowed.append(method)
                if method == ("GET" if self.command == "HEAD" else self.command):
                    getattr(self, "route_" + name)(sim, *match.groups())
                    return
            if allowed:
                raise ApiError(405, "method_not_allowed",
                               "%s is not allowed on %s" % (self.command, path))
            raise ApiError(404, "not_found", "no route %s %s" % (self.command, path))
        except ApiError as e:
            headers = [("Allow", ", ".join(allowed))] if e.status == 405 else []
            if path.startswith("/pay/") and e.status != 405:
                title = "Payment not found" if e.status == 404 else "Payment unavailable"
                self.send_page(e.status, message_page(title, e.message))
            else:
                self.send_error_json(e.status, e.code, e.message, headers)
        except Exception:
            log("internal error on %s %s\n%s" % (self.command, self.path, traceback.format_exc()))
            self.close_connection = True
            self.send_error_json(500, "internal_error", "the simulator failed; see its log")

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = dispatch

    # Routes ----------------------------------------------------------------------------------

    def route_health(self, sim):
        self.send(200, b"ok", "text/plain; charset=utf-8")

    def route_create_session(self, sim):
        key = self.idempotency_key()
        status, session = sim.create_session(self.json_body(), key)
        self.send_json(status, session)

    def route_get_session(self, sim, sid):
        self.send_json(200, sim.get_session(sid))

    def route_complete_session(self, sim, sid):
        sim.get_session(sid)  # 404 before 400
        outcome = want_outcome(self.json_body())
        session, event_id, webhook_status = sim.settle(sid, outcome)
        self.send_json(200, {"session": session, "event_id": event_id,
                             "webhook_status": webhook_status})

    def route_create_refund(self, sim):
        key = self.idempotency_key()
        status, refund, _ = sim.create_refund(self.json_body(), key)
        self.send_json(status, refund)

    def route_list_events(self, sim):
        self.send_json(200, {"events": sim.list_events()})

    def route_resend_event(self, sim, event_id):
        self.send_json(200, {"event_id": event_id, "webhook_status": sim.resend(event_id)})

    def route_pay_page(self, sim, sid):
        with sim.lock:
            session = sim.sessions.get(sid)
            session = dict(session) if session is not None else None
        if session is None:
            self.send_page(404, message_page("Payment not found",
                                             "There is no payment session %s." % sid))
            return
        if session["status"] != "open":
            self.send_page(200, message_page(
                "Payment %s" % session["status"],
                "This payment (%s, %s) is already %s."
                % (session["reference"], euros(session["amount"]), session["status"])))
            return
        action = html.escape("/pay/" + sid, quote=True)
        content = """<h1>%(description)s</h1>
<p>Reference: %(reference)s</p>
<p class="amount">%(amount)s</p>
<form method="post" action="%(action)s">
<button class="pay" type="submit" name="outcome" value="succeeded">Pay</button>
<button type="submit" name="outcome" value="failed">Decline</button>
<button type="submit" name="outcome" value="cancelled">Cancel</button>
</form>""" % {
            "description": html.escape(session["description"] or "Payment"),
            "reference": html.escape(session["reference"]),
            "amount": html.escape(euros(session["amount"])),
            "action": action,
        }
        self.send_page(200, page("Pay %s" % euros(session["amount"]), content))

    def route_pay_submit(self, sim, sid):
        try:
            form = urllib.parse.parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            form = {}
        outcomes = form.get("outcome", [])
        if len(outcomes) != 1 or outcomes[0] not in OUTCOMES:
            sim.get_session(sid)  # an unknown session is a 404 first
            self.send_page(400, message_page(
                "Bad request", "outcome must be one of succeeded, failed, cancelled."))
            return
        try:
            session, _, _ = sim.settle(sid, outcomes[0])
        except ApiError as e:
            if e.status != 409:
                raise
            status = sim.get_session(sid)["status"]
            self.send_page(409, message_page("Payment already %s" % status,
                                             "This payment is already %s: nothing was done."
                                             % status))
            return
        with sim.lock:
            internal = sim.sessions[sid]
            target = internal["success_url"] if session["status"] == "paid" \
                else internal["cancel_url"]
        self.send(303, b"", "text/plain; charset=utf-8", [("Location", target)])


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description="Stripe-like payment-provider simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--webhook-secret", required=True)
    parser.add_argument("--public-url", help="base of the hosted pages' URLs "
                                             "(default http://HOST:PORT)")
    args = parser.parse_args()
    if not args.api_key or not args.webhook_secret:
        parser.error("--api-key and --webhook-secret must not be empty")

    server_class = Server
    if ":" in args.host:
        server_class = type("Server6", (Server,), {"address_family": socket.AF_INET6})
    server = server_class((args.host, args.port), Handler)
    port = server.server_address[1]
    if args.public_url:
        base = args.public_url.rstrip("/")
    else:
        host = args.host if args.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        base = "http://%s:%d" % ("[%s]" % host if ":" in host else host, port)
    server.sim = Simulator(args.api_key, args.webhook_secret, base)

    print(port, flush=True)
    log("listening on %s:%d, hosted pages at %s/pay/<session id>" % (args.host, port, base))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
