"""An OpenAPI 3.0 description of the Key Vault data plane that Coffre serves (secrets, keys, certificates), for
schemathesis to generate valid and invalid requests from.

Written from the routes and wire names the official Python SDKs send (shared/reference/kv_routes.txt and
kv_models.txt): the same operations, parameters and bodies as the service's OpenAPI files, described compactly.
"""

NAME = {"type": "string", "pattern": "^[0-9a-zA-Z-]{1,127}$"}
VERSION = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
BASE64URL = {"type": "string", "pattern": "^[A-Za-z0-9_-]*$"}

ATTRIBUTES = {"type": "object", "properties": {
    "enabled": {"type": "boolean"}, "nbf": {"type": "integer"}, "exp": {"type": "integer"}}}
TAGS = {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 15}
KEY_TYPES = ["EC", "EC-HSM", "RSA", "RSA-HSM", "oct", "oct-HSM"]
CURVES = ["P-256", "P-384", "P-521", "P-256K"]
KEY_OPS = {"type": "array", "items": {"type": "string", "enum": [
    "encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export"]}}


def obj(required=(), **properties):
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


JSON_WEB_KEY = obj(
    ["kty"], kty={"type": "string", "enum": KEY_TYPES}, key_ops=KEY_OPS, crv={"type": "string", "enum": CURVES},
    **{field: BASE64URL for field in ("n", "e", "d", "dp", "dq", "qi", "p", "q", "k", "key_hsm", "x", "y")})
LIFETIME_ACTIONS = {"type": "array", "items": obj(
    trigger=obj(lifetime_percentage={"type": "integer"}, days_before_expiry={"type": "integer"}),
    action=obj(action_type={"type": "string", "enum": ["EmailContacts", "AutoRenew"]}))}
CERTIFICATE_POLICY = obj(
    key_props=obj(exportable={"type": "boolean"}, kty={"type": "string", "enum": ["EC", "RSA"]},
                  key_size={"type": "integer", "enum": [2048, 256, 384]}, reuse_key={"type": "boolean"},
                  crv={"type": "string", "enum": CURVES}),
    secret_props=obj(contentType={"type": "string", "enum": ["application/x-pkcs12", "application/x-pem-file"]}),
    x509_props=obj(subject={"type": "string"}, ekus={"type": "array", "items": {"type": "string"}},
                   sans=obj(emails={"type": "array", "items": {"type": "string"}},
                            dns_names={"type": "array", "items": {"type": "string"}},
                            upns={"type": "array", "items": {"type": "string"}}),
                   key_usage={"type": "array", "items": {"type": "string"}},
                   validity_months={"type": "integer", "minimum": 1, "maximum": 120}),
    lifetime_actions=LIFETIME_ACTIONS,
    issuer=obj(name={"type": "string"}, cty={"type": "string"}, cert_transparency={"type": "boolean"}),
    attributes=ATTRIBUTES)

BODIES = {
    "SecretSet": obj(["value"], value={"type": "string"}, contentType={"type": "string"}, attributes=ATTRIBUTES,
                     tags=TAGS),
    "SecretUpdate": obj(contentType={"type": "string"}, attributes=ATTRIBUTES, tags=TAGS),
    "Restore": obj(["value"], value=BASE64URL),
    "KeyCreate": obj(["kty"], kty={"type": "string", "enum": KEY_TYPES},
                     key_size={"type": "integer", "enum": [2048, 128, 256]}, public_exponent={"type": "integer"},
                     key_ops=KEY_OPS, attributes=ATTRIBUTES, tags=TAGS, crv={"type": "string", "enum": CURVES}),
    "KeyImport": obj(["key"], key=JSON_WEB_KEY, Hsm={"type": "boolean"}, attributes=ATTRIBUTES, tags=TAGS),
    "KeyUpdate": obj(key_ops=KEY_OPS, attributes=ATTRIBUTES, tags=TAGS),
    "KeyOperation": obj(["alg", "value"], alg={"type": "string"}, value=BASE64URL, iv=BASE64URL, aad=BASE64URL,
                        tag=BASE64URL),
    "KeySign": obj(["alg", "value"], alg={"type": "string"}, value=BASE64URL),
    "KeyVerify": obj(["alg", "digest", "value"], alg={"type": "string"}, digest=BASE64URL, value=BASE64URL),
    "KeyRelease": obj(["target"], target={"type": "string"}, nonce={"type": "string"}, enc={"type": "string"}),
    "RotationPolicy": obj(
        lifetimeActions={"type": "array", "items": obj(
            trigger=obj(timeAfterCreate={"type": "string"}, timeBeforeExpiry={"type": "string"}),
            action=obj(type={"type": "string", "enum": ["Rotate", "Notify"]}))},
        attributes=obj(expiryTime={"type": "string"})),
    "RandomBytes": obj(["count"], count={"type": "integer", "minimum": 1, "maximum": 128}),
    "CertificateCreate": obj(policy=CERTIFICATE_POLICY, attributes=ATTRIBUTES, tags=TAGS),
    "CertificateImport": obj(["value"], value={"type": "string"}, pwd={"type": "string"}, policy=CERTIFICATE_POLICY,
                             attributes=ATTRIBUTES, tags=TAGS),
    "CertificateUpdate": obj(policy=CERTIFICATE_POLICY, attributes=ATTRIBUTES, tags=TAGS),
    "CertificatePolicy": CERTIFICATE_POLICY,
    "CertificateMerge": obj(["x5c"], x5c={"type": "array", "items": {"type": "string"}}, attributes=ATTRIBUTES,
                            tags=TAGS),
    "CertificateOperationUpdate": obj(["cancellation_requested"], cancellation_requested={"type": "boolean"}),
    "Contacts": obj(contacts={"type": "array", "items": obj(
        email={"type": "string"}, name={"type": "string"}, phone={"type": "string"})}),
    "IssuerSet": obj(["provider"], provider={"type": "string"},
                     credentials=obj(account_id={"type": "string"}, pwd={"type": "string"}),
                     org_details=obj(id={"type": "string"}, admin_details={"type": "array", "items": obj(
                         first_name={"type": "string"}, last_name={"type": "string"}, email={"type": "string"},
                         phone={"type": "string"})}),
                     attributes=obj(enabled={"type": "boolean"})),
}

# (method, path, request body, success statuses): the operations of kv_routes.txt for secrets, keys and certificates.
OPERATIONS = [
    ("put", "/secrets/{secret-name}", "SecretSet", "200"),
    ("delete", "/secrets/{secret-name}", None, "200"),
    ("patch", "/secrets/{secret-name}/{secret-version}", "SecretUpdate", "200"),
    ("get", "/secrets/{secret-name}/{secret-version}", None, "200"),
    ("get", "/secrets", None, "200"),
    ("get", "/secrets/{secret-name}/versions", None, "200"),
    ("get", "/deletedsecrets", None, "200"),
    ("get", "/deletedsecrets/{secret-name}", None, "200"),
    ("delete", "/deletedsecrets/{secret-name}", None, "204"),
    ("post", "/deletedsecrets/{secret-name}/recover", None, "200"),
    ("post", "/secrets/{secret-name}/backup", None, "200"),
    ("post", "/secrets/restore", "Restore", "200"),
    ("post", "/keys/{key-name}/create", "KeyCreate", "200"),
    ("post", "/keys/{key-name}/rotate", None, "200"),
    ("put", "/keys/{key-name}", "KeyImport", "200"),
    ("delete", "/keys/{key-name}", None, "200"),
    ("patch", "/keys/{key-name}/{key-version}", "KeyUpdate", "200"),
    ("get", "/keys/{key-name}/{key-version}", None, "200"),
    ("get", "/keys/{key-name}/versions", None, "200"),
    ("get", "/keys", None, "200"),
    ("post", "/keys/{key-name}/backup", None, "200"),
    ("post", "/keys/restore", "Restore", "200"),
    ("post", "/keys/{key-name}/{key-version}/encrypt", "KeyOperation", "200"),
    ("post", "/keys/{key-name}/{key-version}/decrypt", "KeyOperation", "200"),
    ("post", "/keys/{key-name}/{key-version}/sign", "KeySign", "200"),
    ("post", "/keys/{key-name}/{key-version}/verify", "KeyVerify", "200"),
    ("post", "/keys/{key-name}/{key-version}/wrapkey", "KeyOperation", "200"),
    ("post", "/keys/{key-name}/{key-version}/unwrapkey", "KeyOperation", "200"),
    ("post", "/keys/{key-name}/{key-version}/release", "KeyRelease", "200"),
    ("get", "/deletedkeys", None, "200"),
    ("get", "/deletedkeys/{key-name}", None, "200"),
    ("delete", "/deletedkeys/{key-name}", None, "204"),
    ("post", "/deletedkeys/{key-name}/recover", None, "200"),
    ("get", "/keys/{key-name}/rotationpolicy", None, "200"),
    ("put", "/keys/{key-name}/rotationpolicy", "RotationPolicy", "200"),
    ("post", "/rng", "RandomBytes", "200"),
    ("get", "/certificates", None, "200"),
    ("delete", "/certificates/{certificate-name}", None, "200"),
    ("put", "/certificates/contacts", "Contacts", "200"),
    ("get", "/certificates/contacts", None, "200"),
    ("delete", "/certificates/contacts", None, "200"),
    ("get", "/certificates/issuers", None, "200"),
    ("put", "/certificates/issuers/{issuer-name}", "IssuerSet", "200"),
    ("patch", "/certificates/issuers/{issuer-name}", "IssuerSet", "200"),
    ("get", "/certificates/issuers/{issuer-name}", None, "200"),
    ("delete", "/certificates/issuers/{issuer-name}", None, "200"),
    ("post", "/certificates/{certificate-name}/create", "CertificateCreate", "202"),
    ("post", "/certificates/{certificate-name}/import", "CertificateImport", "200"),
    ("get", "/certificates/{certificate-name}/versions", None, "200"),
    ("get", "/certificates/{certificate-name}/policy", None, "200"),
    ("patch", "/certificates/{certificate-name}/policy", "CertificatePolicy", "200"),
    ("patch", "/certificates/{certificate-name}/{certificate-version}", "CertificateUpdate", "200"),
    ("get", "/certificates/{certificate-name}/{certificate-version}", None, "200"),
    ("patch", "/certificates/{certificate-name}/pending", "CertificateOperationUpdate", "200"),
    ("get", "/certificates/{certificate-name}/pending", None, "200"),
    ("delete", "/certificates/{certificate-name}/pending", None, "200"),
    ("post", "/certificates/{certificate-name}/pending/merge", "CertificateMerge", "201"),
    ("post", "/certificates/{certificate-name}/backup", None, "200"),
    ("post", "/certificates/restore", "Restore", "200"),
    ("get", "/deletedcertificates", None, "200"),
    ("get", "/deletedcertificates/{certificate-name}", None, "200"),
    ("delete", "/deletedcertificates/{certificate-name}", None, "204"),
    ("post", "/deletedcertificates/{certificate-name}/recover", None, "200"),
]

LISTS = {"/secrets", "/keys", "/certificates", "/deletedsecrets", "/deletedkeys", "/deletedcertificates",
         "/certificates/issuers", "/secrets/{secret-name}/versions", "/keys/{key-name}/versions",
         "/certificates/{certificate-name}/versions"}

ERROR = {"description": "A Key Vault error", "content": {"application/json": {"schema": obj(
    ["error"], error=obj(["code", "message"], code={"type": "string"}, message={"type": "string"}))}}}


def document():
    """The OpenAPI document, as a dict."""
    paths = {}
    for method, path, body, status in OPERATIONS:
        parameters = [{"name": "api-version", "in": "query", "required": True,
                       "schema": {"type": "string", "enum": ["7.5", "7.6", "2025-07-01"]}}]
        for segment in path.split("/"):
            if segment.startswith("{"):
                name = segment[1:-1]
                parameters.append({"name": name, "in": "path", "required": True,
                                   "schema": VERSION if name.endswith("-version") else NAME})
        if path in LISTS:
            parameters.append({"name": "maxresults", "in": "query", "required": False,
                               "schema": {"type": "integer", "minimum": 1, "maximum": 25}})
        operation = {"operationId": f"{method} {path}", "parameters": parameters,
                     "responses": {status: {"description": "Success"}, "default": ERROR}}
        if body:
            operation["requestBody"] = {"required": True,
                                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
        paths.setdefault(path, {})[method] = operation
    return {"openapi": "3.0.3", "info": {"title": "Key Vault data plane (as Coffre serves it)", "version": "2025-07-01"},
            "paths": paths, "components": {"schemas": BODIES}}
