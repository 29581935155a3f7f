"""End-to-end encryption key management on the server side (client-server API,
"End-to-End Encryption"): device keys, one-time and fallback keys,
cross-signing keys and signatures, server-side key backups.

The server never decrypts anything: it checks the shape (and, where the spec
asks, the signatures) of what clients upload, stores it, and hands it out.

* :mod:`~trioserver.e2ee.validation`, :mod:`~trioserver.e2ee.cross_signing`,
  :mod:`~trioserver.e2ee.backup_rules`: pure checks over plain data (no I/O).
* :mod:`~trioserver.e2ee.keys`, :mod:`~trioserver.e2ee.backup`: the operations
  the HTTP handlers call; each write is one transaction of the database writer.
"""
