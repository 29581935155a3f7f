"""The media repository's HTTP endpoints (spec: client-server API, "Content
repository"). Register :data:`blueprint`; it also makes the app's request
bodies flow-controlled (:mod:`trioserver.api.media.body`) and runs the
repository's service while the app serves."""

from trioserver.api.media import download, preview, upload
from trioserver.api.media.common import MediaServices, blueprint, media, media_of

__all__ = ["MediaServices", "blueprint", "download", "media", "media_of", "preview", "upload"]
