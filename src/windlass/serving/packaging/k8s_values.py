"""Checks of the values that go into Kubernetes manifests: names and resource quantities.

Each bad value is an :class:`~windlass.exceptions.InvalidInput` that names the value,
the rule it breaks and what to pass instead, before any file is written.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from windlass.exceptions import InvalidInput
from windlass.uris import NAME_PATTERN, parse_object_uri

#: A DNS-1035 label: what a Service name must be (the strictest of the objects written).
DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
#: A DNS-1123 label: what a namespace name must be.
DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
#: A DNS-1123 subdomain: what a Secret name must be.
DNS_1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
MAX_LABEL = 63
MAX_SUBDOMAIN = 253

_QUANTITY = re.compile(
    r"^(?P<number>[0-9]+(\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+)?$"
)
_SUFFIX = {
    "m": Decimal("0.001"),
    "": Decimal(1),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def deployment_name(deployment: str) -> str:
    """Return the windlass deployment name of ``NAME`` or ``deployments:/NAME``."""
    if deployment.startswith("deployments:/"):
        return parse_object_uri(deployment).name
    if not re.fullmatch(NAME_PATTERN, deployment):
        raise InvalidInput(
            f"{deployment!r} is not a deployment name (letters, digits, '_', "
            "'.', '-'; starting with a letter or digit) nor deployments:/NAME",
            deployment=deployment,
        )
    return deployment


def kubernetes_name(deployment: str, name: str | None = None) -> str:
    """Return the Kubernetes object name: ``name`` checked, or one derived from ``deployment``.

    The derived name is the deployment name lowercased with ``_`` and ``.`` turned into
    ``-``. Either way it must be a DNS-1035 label (what a Service name must be): at most
    63 lowercase letters, digits and ``-``, starting with a letter, ending alphanumeric.
    """
    if name is not None:
        _check_label(name, "--name", DNS_1035_LABEL, "start with a letter")
        return name
    derived = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", deployment.lower())).strip("-")
    if not DNS_1035_LABEL.match(derived) or len(derived) > MAX_LABEL:
        raise InvalidInput(
            f"deployment name {deployment!r} gives the Kubernetes name {derived!r}, which is "
            f"not a DNS-1035 label (at most {MAX_LABEL} lowercase letters, digits and '-', "
            "starting with a letter): pass --name with a valid one",
            deployment=deployment,
            derived=derived,
        )
    return derived


def _check_label(value: str, what: str, pattern: re.Pattern[str], start: str) -> None:
    if not pattern.match(value) or len(value) > MAX_LABEL:
        raise InvalidInput(
            f"{what} {value!r} is not a valid Kubernetes name: at most {MAX_LABEL} lowercase "
            f"letters, digits and '-', must {start} and end with a letter or digit",
            value=value,
        )


def check_namespace(namespace: str) -> str:
    """Return ``namespace`` if it is a DNS-1123 label, else raise InvalidInput."""
    _check_label(namespace, "--namespace", DNS_1123_LABEL, "start with a letter or digit")
    return namespace


def check_secret_name(secret: str) -> str:
    """Return ``secret`` if it is a DNS-1123 subdomain (a Secret name), else InvalidInput."""
    if not DNS_1123_SUBDOMAIN.match(secret) or len(secret) > MAX_SUBDOMAIN:
        raise InvalidInput(
            f"--secret {secret!r} is not a valid Secret name (lowercase "
            "letters, digits, '-' and '.', starting and ending alphanumeric)",
            value=secret,
        )
    return secret


def check_image(image: str) -> str:
    """Return ``image`` if it can be an image reference (non-empty, no spaces)."""
    if not image or any(c.isspace() for c in image) or image.startswith("-"):
        raise InvalidInput(
            f"--image {image!r} is not an image reference (like registry.example.com/churn:3)",
            value=image,
        )
    return image


def quantity(value: str, what: str) -> Decimal:
    """Return a Kubernetes resource quantity (``500m``, ``1``, ``512Mi``) as a number."""
    match = _QUANTITY.match(value)
    if not match:
        raise InvalidInput(
            f"{what} {value!r} is not a Kubernetes quantity (like 500m, 2, 512Mi, 1Gi)", value=value
        )
    suffix = match["suffix"] or ""
    try:
        number = Decimal(match["number"])
        if suffix[:1] in ("e", "E"):
            return number * Decimal(10) ** int(suffix[1:])
        return number * _SUFFIX[suffix]
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{what} {value!r} is not a Kubernetes quantity", value=value) from None


def check_request_within_limit(request: str, limit: str, resource: str) -> None:
    """Refuse a request above its limit (the API server would refuse the Deployment)."""
    if quantity(request, f"{resource} request") > quantity(limit, f"{resource} limit"):
        raise InvalidInput(
            f"the {resource} request {request} is above its limit {limit}",
            request=request,
            limit=limit,
        )
