#!/usr/bin/env python3
"""Docker-registry token server (Docker Hub / ghcr.io style Bearer flow), stdlib + openssl CLI only.
usage: registry_token_server.py PORT KEY.pem CERT.b64 ISSUER [USER:PASS]  -- anonymous pull if no USER:PASS
With TOKEN_LOG set, appends one line per request: `GET <path> auth=<none|basic|wrong> ua=<user agent>`
(never the credentials).
The project's copy of the shared recipe; the registry tests start it (tests/it/support/registry.rs)."""
import base64, json, os, subprocess, sys, time, urllib.parse
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
PORT, KEY, CERTB64, ISSUER = int(sys.argv[1]), sys.argv[2], open(sys.argv[3]).read().strip(), sys.argv[4]
CREDS = sys.argv[5] if len(sys.argv) > 5 else None
LOG = os.environ.get("TOKEN_LOG")
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def sign(payload):
    head = b64u(json.dumps({"typ": "JWT", "alg": "RS256", "x5c": [CERTB64]}).encode())
    body = b64u(json.dumps(payload).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", KEY], input=f"{head}.{body}".encode(),
                         capture_output=True, check=True).stdout
    return f"{head}.{body}.{b64u(sig)}"
def basic(header):
    if not header.startswith("Basic "):
        return None
    try:
        return base64.b64decode(header[6:]).decode()
    except Exception:
        return ""
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        u = urllib.parse.urlparse(self.path); q = urllib.parse.parse_qs(u.query)
        given = basic(self.headers.get("authorization", ""))
        if LOG:
            mark = "none" if given is None else ("basic" if CREDS is None or given == CREDS else "wrong")
            with open(LOG, "a") as f:
                f.write(f"GET {self.path} auth={mark} ua={self.headers.get('user-agent', '')}\n")
        if CREDS and given != CREDS:
            self.send_response(401); self.end_headers(); return
        access = []
        for scope in q.get("scope", []):           # e.g. repository:ethereum/client-go:pull,push
            typ, name, actions = scope.split(":", 2)
            access.append({"type": typ, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        tok = sign({"iss": ISSUER, "sub": "ci", "aud": q.get("service", [""])[0], "exp": now + 300,
                    "nbf": now - 10, "iat": now, "jti": str(now), "access": access})
        out = json.dumps({"token": tok, "access_token": tok, "expires_in": 300}).encode()
        self.send_response(200); self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out))); self.end_headers(); self.wfile.write(out)
    def log_message(self, *a): pass
ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
