"""A test OIDC issuer for the integration tests: keys generated at test time by `cryptography`,
tokens signed by PyJWT (a JWT implementation independent of Weft's), the JWKS written to a file
or served over HTTP like an issuer's jwks_uri."""

import base64
import http.server
import json
import threading
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


def _b64(n_or_bytes):
    raw = n_or_bytes if isinstance(n_or_bytes, bytes) else n_or_bytes.to_bytes((n_or_bytes.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Issuer:
    """One issuer with an RS256, an ES256 and an EdDSA key."""

    def __init__(self, url, kid_prefix="k1"):
        self.url = url
        self.keys = {
            "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ES256": ec.generate_private_key(ec.SECP256R1()),
            "EdDSA": ed25519.Ed25519PrivateKey.generate(),
        }
        self.kid_prefix = kid_prefix

    def kid(self, alg):
        return f"{self.kid_prefix}-{alg.lower()}"

    def jwks(self):
        out = []
        for alg, key in self.keys.items():
            pub = key.public_key()
            if alg == "RS256":
                n = pub.public_numbers()
                out.append({"kty": "RSA", "alg": alg, "use": "sig", "kid": self.kid(alg), "n": _b64(n.n), "e": _b64(n.e)})
            elif alg == "ES256":
                n = pub.public_numbers()
                out.append({"kty": "EC", "crv": "P-256", "alg": alg, "use": "sig", "kid": self.kid(alg),
                            "x": _b64(n.x.to_bytes(32, "big")), "y": _b64(n.y.to_bytes(32, "big"))})
            else:
                from cryptography.hazmat.primitives import serialization
                raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
                out.append({"kty": "OKP", "crv": "Ed25519", "alg": alg, "use": "sig", "kid": self.kid(alg), "x": _b64(raw)})
        return {"keys": out}

    def token(self, sub, alg="ES256", aud="weft", expires_in=600, iss=None, **claims):
        now = int(time.time())
        payload = {"iss": iss or self.url, "sub": sub, "aud": aud, "iat": now, "exp": now + expires_in, **claims}
        return jwt.encode(payload, self.keys[alg], algorithm=alg, headers={"kid": self.kid(alg)})


class JWKSServer:
    """Serves issuers' JWKS documents at /<name>/jwks over plain HTTP on loopback."""

    def __init__(self):
        self.documents = {}
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                doc = owner.documents.get(self.path)
                body = json.dumps(doc).encode() if doc else b"not found"
                self.send_response(200 if doc else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def publish(self, name, issuer):
        self.documents[f"/{name}/jwks"] = issuer.jwks()
        return f"http://127.0.0.1:{self.port}/{name}/jwks"

    def close(self):
        self.httpd.shutdown()
