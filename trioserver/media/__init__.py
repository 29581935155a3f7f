"""The media repository (spec: client-server API, "Content repository").

Pure helpers (no I/O): :mod:`~trioserver.media.ids`, :mod:`~trioserver.media.headers`,
:mod:`~trioserver.media.ranges`, :mod:`~trioserver.media.sizing`,
:mod:`~trioserver.media.addresses`, :mod:`~trioserver.media.opengraph`, and the
Pillow work of :mod:`~trioserver.media.images` (CPU only, run in a thread).
Services: :class:`~trioserver.media.repository.MediaRepository` (uploads,
downloads, clean-up), :class:`~trioserver.media.thumbnailer.Thumbnailer`,
:class:`~trioserver.media.preview.UrlPreviewer`.
"""
