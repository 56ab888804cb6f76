"""tls-config: Node-RED's TLS settings node (CA, client certificate and key, verification).

Node-RED keeps uploaded files in the credentials (`cadata`, `certdata`,
`keydata`, `passphrase`) and file paths in `ca`, `cert`, `key`; both work.
"""

from __future__ import annotations

from pydantic import Field

from runtime import ConfigNode, NodeProps, lenient, register
from runtime.secrets import redact

from ._connection import TLSSettings


class TlsProps(NodeProps):
    ca: str = Field("", description="CA certificate file")
    cert: str = Field("", description="client certificate file")
    key: str = Field("", description="client private key file")
    cadata: str = Field("", description="CA certificate, PEM text (credentials)")
    certdata: str = Field("", description="client certificate, PEM text (credentials)")
    keydata: str = Field("", description="client private key, PEM text (credentials)")
    passphrase: str = Field("", description="password of the private key (credentials)")
    verifyservercert: lenient.Bool = True
    servername: str = Field("", description="(accepted, not used: the broker host name is the SNI name)")
    alpnprotocol: str = ""


@register("tls-config")
class TlsConfig(ConfigNode):
    """TLS settings shared by the nodes that name this config node."""

    Props = TlsProps

    def settings(self) -> TLSSettings:
        p = self.props
        redact(p.passphrase)
        redact(p.keydata)
        return TLSSettings(
            ca=p.cadata or p.ca or None,
            cert=p.certdata or p.cert or None,
            key=p.keydata or p.key or None,
            key_password=p.passphrase or None,
            verify=p.verifyservercert,
            alpn=p.alpnprotocol or None,
        )
